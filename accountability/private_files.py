"""Files that hold data are private: written 0600, in folders created 0700.

The database, the digest, the escalation maps and the demo's captured emails name people,
their accounts and what they did; on a shared host the usual umask (022) would make them
readable by every local user. Every writer of such a file goes through here, so the mode does
not depend on the umask of whoever runs the command or the worker. (The SQLite database is
created by `storage.engine`, which must not import the shell, with the same mode.)

Output files are also named after registry ids or weeks: `write_private` refuses a name that
would land outside its folder (`inside`). Registry ids are validated as names
(`rules.registry.models.ID_PATTERN`), but a path built from one is the last place a
`../../elsewhere/evil` could still escape.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from accountability.config.errors import UsageError

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700


def private_dir(folder: Path) -> Path:
    """Create `folder` (and missing parents) as 0700; an existing folder keeps its mode, since
    it may be the user's own (the folder they passed to `--out`)."""
    missing = [p for p in (folder, *folder.parents) if not p.exists()]
    for path in reversed(missing):
        with contextlib.suppress(FileExistsError):  # created meanwhile by another writer
            path.mkdir(mode=PRIVATE_DIR)
            path.chmod(PRIVATE_DIR)  # mkdir's mode is masked by the umask; be exact
    return folder


def write_private(target: Path, content: str | bytes) -> Path:
    """Write `target` atomically as 0600: a temporary file in the same folder (mkstemp creates
    it 0600 whatever the umask), then a rename, so a reader never sees a half-written file
    and the file is never readable by others, not even for a moment. `target` must be one
    plain file name inside its folder (`inside`)."""
    target = inside(target.parent, target.name)
    private_dir(target.parent)
    data = content.encode("utf-8") if isinstance(content, str) else content
    handle, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.chmod(tmp, PRIVATE_FILE)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return target


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
