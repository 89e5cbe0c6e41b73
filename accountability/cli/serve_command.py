"""`accountability serve` (SPEC §8, §13): the web app as its own process, without Prefect."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from accountability.cli.options import RegistryOption
from accountability.cli.text import safe_text
from accountability.config.registry_file import load_registry_file
from accountability.config.settings import load_settings


def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on. Keep the "
                                      "loopback default behind a proxy on the same machine.")
                    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port.")] = 8080,
    registry: RegistryOption = None,
) -> None:
    """Serve the web app: read pages and signed one-click actions (Ctrl-C stops it)."""
    from accountability.usecases.databases import open_database
    from accountability.web.app import create_app
    from accountability.web.auth import WebSettings
    from accountability.web.context import WebContext
    from accountability.web.server import bind, serve_forever

    settings = load_settings()
    web = WebSettings.from_settings(settings)  # no signing key: ConfigError, exit 2
    path = registry or settings.registry
    load_registry_file(path)  # an invalid registry stops here (exit 2), not on first request
    console = Console(stderr=True, emoji=False)
    with open_database(settings.database_url) as factory:
        sock = bind(host, port)
        bound = sock.getsockname()
        console.print(f"serving on http://{safe_text(bound[0])}:{bound[1]}"
                      + (f" (public URL {safe_text(web.public_url)})" if web.public_url else "")
                      + (f"; trusted user header {safe_text(web.trusted_user_header)}"
                         if web.trusted_user_header else "") + "; Ctrl-C stops",
                      highlight=False, soft_wrap=True)
        serve_forever(create_app(WebContext(sessions=factory, registry_path=path), web), sock)
    console.print("stopped", highlight=False)
