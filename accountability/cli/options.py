"""Options several commands share, declared once so their help reads the same everywhere."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

RegistryOption = Annotated[
    Path | None,
    typer.Option(
        "--registry", help="Registry file (default: $ACCOUNTABILITY_REGISTRY or ./registry.yaml)."
    ),
]
