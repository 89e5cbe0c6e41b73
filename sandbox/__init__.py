"""A local stand-in for the Jira Cloud REST API v3 and the PagerDuty REST API v2 / Events API v2:
real paths and shapes over HTTPS with its own CA, seeded data (the Acme demo or a scale world)
and fault injection. See docs/sandbox.md.

Example:
    from sandbox import SandboxConfig, serve_sandbox

    with serve_sandbox(SandboxConfig(seed=7, mode="demo")) as sb:
        sb.base_url, sb.ca_path, sb.credentials, sb.world
"""

from .catalog import ROUTING_KEY
from .data import PlantedCase, World
from .faults import FaultConfig, FaultRule
from .generate import Mutation, demo_world, mutate, scale_world
from .server import Sandbox, SandboxConfig, build_world, create_app, serve_sandbox

__all__ = [
    "ROUTING_KEY",
    "FaultConfig",
    "FaultRule",
    "Mutation",
    "PlantedCase",
    "Sandbox",
    "SandboxConfig",
    "World",
    "build_world",
    "create_app",
    "demo_world",
    "mutate",
    "scale_world",
    "serve_sandbox",
]
