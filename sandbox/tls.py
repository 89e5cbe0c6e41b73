"""A throwaway certificate authority for the sandbox.

The `pagerduty` client refuses plain http, and the project's clients must trust a private CA
through `ACCOUNTABILITY_CA_BUNDLE` anyway (a corporate proxy is the same situation), so the
sandbox serves HTTPS with a server certificate for 127.0.0.1, ::1 and localhost signed by a CA it
generates at start. The CA certificate is written to a PEM file the clients can be pointed at.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import trustme


class TlsFiles:
    """The CA PEM and the server's key + chain PEM, in a temporary directory (or `directory`)."""

    def __init__(self, directory: Path | None = None) -> None:
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if directory is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="accountability-sandbox-")
            directory = Path(self._tmp.name)
        directory.mkdir(parents=True, exist_ok=True)
        ca = trustme.CA(organization_name="Accountability Sandbox")
        leaf = ca.issue_cert("127.0.0.1", "::1", "localhost")
        self.ca_path = directory / "sandbox-ca.pem"
        self.server_path = directory / "sandbox-server.pem"
        ca.cert_pem.write_to_path(str(self.ca_path))
        leaf.private_key_and_cert_chain_pem.write_to_path(str(self.server_path))

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
