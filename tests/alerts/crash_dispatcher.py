"""A dispatcher that dies by SIGKILL right after a real send of CHANNEL, before recording it.

Run as a subprocess by test_crash.py: `python -m tests.alerts.crash_dispatcher CHANNEL`, with
the worker's environment (database, registry, SMTP, PagerDuty Events, Jira) set. Nothing is
faked about the send or the death: the message reaches the server, then the process is killed
at the point where it would update the outbox, as a power cut or an OOM kill would.
"""

from __future__ import annotations

import os
import signal
import sys

from accountability.config.registry_file import load_registry_file
from accountability.config.settings import load_settings
from accountability.usecases import databases
from accountability.usecases import dispatch as dispatcher


def main(channel: str) -> None:
    settle = dispatcher._Dispatch._settle

    def die_before_marking(self: dispatcher._Dispatch, unit: dispatcher._Unit,
                           outcome: dispatcher._Outcome) -> None:
        if unit.channel == channel and outcome.sent:
            sys.stdout.write(f"sent {sorted(outcome.sent)}; dying\n")
            sys.stdout.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        settle(self, unit, outcome)

    dispatcher._Dispatch._settle = die_before_marking  # type: ignore[method-assign]
    settings = load_settings()
    loaded = load_registry_file(settings.registry)
    with databases.open_database(settings.database_url) as factory:
        report = dispatcher.dispatch(factory, loaded.registry,
                                     dispatcher.Channels.from_settings(settings))
    sys.stdout.write(f"survived: {report.line()}\n")


if __name__ == "__main__":
    main(sys.argv[1])
