"""Output files named after registry ids or weeks, kept inside the folder they belong to.

Registry ids are validated as names (`rules.registry.models.ID_PATTERN`), but a path built
from one is the last place a `../../elsewhere/evil` could still escape: every file the product
names itself (the registry-check flow's and the demo's maps, the digest page) is joined here,
and a name that would land outside its folder is refused instead of written.
"""

from __future__ import annotations

from pathlib import Path

from accountability.config.errors import UsageError


def inside(folder: Path, name: str) -> Path:
    """`folder / name`, refusing a `name` that is not one plain file name inside `folder`.

    Symbolic links are followed before comparing, so a link inside the folder that points
    elsewhere is refused too.

    Raises:
        UsageError: the name has a separator, is `.`/`..`, or resolves outside the folder.
    """
    plain = bool(name) and name not in (".", "..") and "/" not in name and "\\" not in name
    target = folder / name
    if plain and target.resolve().parent == folder.resolve():
        return target
    raise UsageError(
        f"refusing to write {name!r}: it would land outside {folder} (a file name must not "
        "contain '/', '\\' or '..', nor be a link that leads elsewhere)"
    )
