"""The weekly digest to leadership (SPEC §7): gathered from the database (`gather`), decided by
`rules.digest`, rendered as HTML, text and markdown with trend charts (`render`,
`accountability.charts`), sent as one e-mail (`mail`) or written to a file (`service`)."""

from accountability.usecases.digest.service import (
    AlreadySent,
    DigestReport,
    checked_week,
    default_week,
    produce,
)

__all__ = ["AlreadySent", "DigestReport", "checked_week", "default_week", "produce"]
