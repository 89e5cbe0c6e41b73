"""Reading the owner registry from disk; the checks themselves are in `rules.registry`."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Final

from rules.registry import LoadedRegistry, RegistryError, RegistryIssue, parse_registry

EXAMPLE_REGISTRY: Final = Path(__file__).resolve().parents[2] / "examples" / "registry.yaml"
"""The Acme demo company's registry: the demo's, the sandbox's and many tests' registry."""

MAX_BYTES: Final = 1024 * 1024
"""A real registry is a few kilobytes; anything near this is the wrong file."""


def load_registry_file(path: str | Path) -> LoadedRegistry:
    """Read, parse and validate a registry file.

    Raises RegistryError with a single, plain issue when the file itself is the problem
    (missing, a directory, unreadable, not UTF-8, empty, too large), else with every problem
    found inside it.
    """
    source = os.fspath(path)
    data = _read(Path(source), source)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise _error(
            source,
            f"not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}): save it as UTF-8",
        ) from None
    return parse_registry(text, source)


def _read(path: Path, source: str) -> bytes:
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            raise _error(source, "is a directory, not a registry file")
        if not stat.S_ISREG(info.st_mode):
            raise _error(source, "is not a regular file")
        if info.st_size > MAX_BYTES:
            raise _too_large(source, info.st_size)
        with path.open("rb") as handle:
            data = handle.read(MAX_BYTES + 1)  # the file may have grown since stat()
    except FileNotFoundError:
        raise _error(source, "file not found") from None
    except PermissionError:
        raise _error(source, "cannot read the file: permission denied") from None
    except OSError as exc:
        raise _error(source, f"cannot read the file: {exc.strerror or exc}") from None
    if len(data) > MAX_BYTES:
        raise _too_large(source, len(data))
    if not data:
        raise _error(source, "the file is empty")
    return data


def _too_large(source: str, size: int) -> RegistryError:
    return _error(
        source,
        f"the file is {size / MAX_BYTES:.1f} MB; a registry is at most 1 MB "
        "— is this the right file?",
    )


def _error(source: str, message: str) -> RegistryError:
    return RegistryError([RegistryIssue("error", source, None, "", message)])
