"""Storage: SQLAlchemy models, engine and sessions, idempotent upserts, repositories, migrations.

Modules: ``models`` (tables), ``types`` (UTC datetimes, JSON), ``engine`` (engines,
sessions), ``upsert`` (ON CONFLICT writes), ``repo`` (queries), ``outbox`` (every read and
write of the alert outbox), ``migrate`` (Alembic upgrade and the schema-version guard),
``errors``.
"""
