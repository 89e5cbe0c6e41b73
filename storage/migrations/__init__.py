"""Alembic migrations, shipped inside the package (see :mod:`storage.migrate`)."""
