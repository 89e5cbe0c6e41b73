"""Where a governance action came from: the OS account, the host, the Prefect flow run.

`--by` names the registry person an action is recorded for, and the CLI cannot check it: whoever
can write to the database can type any name (docs/operations.md, "Trust model"). What the
process *can* tell is who ran it, so `ack`, `close`, `ratify` and `decide` record that beside
`--by`. A record made as `--by dana` from `omar@laptop-7` is then visible as such.

Like the clock (`accountability.clock`), the origin is injected: production passes
`process_origin`, tests pass a fixed `Origin` and check it was stored.
"""

from __future__ import annotations

import getpass
import os
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Origin:
    """The process that recorded an action: its OS user, its host, and the Prefect flow run it
    ran in (None outside a flow)."""

    os_user: str
    host: str
    flow_run_id: str | None = None


OriginSource = Callable[[], Origin]
"""A callable returning the `Origin` of the current process."""


def process_origin() -> Origin:
    """This process's OS user, host name and, inside a Prefect flow, the flow run id."""
    return Origin(os_user=_os_user(), host=socket.gethostname() or "unknown",
                  flow_run_id=_flow_run_id())


def _os_user() -> str:
    """The account the process runs as, from its uid (not `$USER`, which anyone can set); in a
    container without a passwd entry for its uid, `uid:<n>`, which still tells accounts apart.
    Where there are no uids (Windows), the login name."""
    if not hasattr(os, "geteuid"):
        return getpass.getuser()
    uid = os.geteuid()
    try:
        import pwd

        return pwd.getpwuid(uid).pw_name
    except (ImportError, KeyError):
        return f"uid:{uid}"


def _flow_run_id() -> str | None:
    """The Prefect flow run id when this runs inside one. Prefect is imported by every flow
    before it runs, so a process that has not imported it runs no flow: the CLI stays free of
    Prefect's import time."""
    if "prefect" not in sys.modules:
        return None
    from prefect.context import FlowRunContext

    context = FlowRunContext.get()
    if context is None or context.flow_run is None:
        return None
    return str(context.flow_run.id)
