"""Storage errors. Each message names the database (password hidden) and the fix."""

from __future__ import annotations


class StorageError(Exception):
    """Base class for storage problems a user can act on."""


class SchemaNotMigrated(StorageError):
    """The database has no schema yet: run ``accountability db upgrade``."""


class SchemaOutdated(StorageError):
    """The database is at an older revision: run ``accountability db upgrade``."""


class SchemaTooNew(StorageError):
    """A newer release migrated the database: upgrade the tool, never downgrade the data."""
