"""`SMTP_SECURITY`'s values, apart from the e-mail channel: the settings name them on every
command, and importing `connectors.email` (smtplib and the `email` package) cost every command
~25 ms that only alerting needs."""

from typing import Literal

SmtpSecurity = Literal["starttls", "tls", "none"]
"""`SMTP_SECURITY`: how the SMTP connection is protected."""
