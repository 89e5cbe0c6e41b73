"""Daily registry check: validate the owner registry, record its snapshot, refresh the maps.

Runs as the `registry-check` deployment (prefect.yaml) so a registry edited in its git repo is
caught by the worker the day it lands, and the escalation maps pinned on walls stay current.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact

from accountability.config.registry_file import load_registry_file
from accountability.config.settings import load_settings
from accountability.usecases import databases, maps
from rules.registry import LoadedRegistry


@task
def load(registry_path: str) -> LoadedRegistry:
    return load_registry_file(registry_path)


@task
def record(database_url: str, loaded: LoadedRegistry) -> None:
    databases.record_registry(database_url, loaded)


@task
def write_map(loaded: LoadedRegistry, workflow: str, out_dir: str) -> str:
    target = maps.map_file(Path(out_dir), workflow)  # refuses an id that would leave out_dir
    return str(maps.write_escalation_map(loaded, workflow, target))


@task
def record_write(database_url: str, loaded: LoadedRegistry, workflow: str) -> str | None:
    """The reset tracker's "map published" reads these records (`map_writes`)."""
    return maps.record_map_write(database_url, loaded, workflow, "registry-check")


@flow(name="registry-check", log_prints=True)
def registry_check(registry_path: str | None = None, out_dir: str = "maps") -> dict[str, str]:
    """Validate, record and publish; an invalid registry fails the run and writes nothing."""
    settings = load_settings()
    loaded = load(registry_path or str(settings.registry))
    record(settings.database_url, loaded)
    maps = {wf: write_map(loaded, wf, out_dir) for wf in loaded.registry.workflows}
    notes = [note for wf in maps if (note := record_write(settings.database_url, loaded, wf))]
    lines = [f"# Registry {loaded.content_hash[:12]}", ""]
    lines += [f"- warning: {w}" for w in loaded.warnings] or ["No warnings."]
    lines += [f"- note: {note}" for note in notes]
    lines += ["", "| workflow | escalation map |", "|---|---|"]
    lines += [f"| {wf} | {path} |" for wf, path in maps.items()]
    create_markdown_artifact("\n".join(lines), key="registry-check")
    return maps
