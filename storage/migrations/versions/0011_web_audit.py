"""The web app's audit table (SPEC §13): every action taken or refused through the web.

`web_audit` is new and starts empty: no existing row changes. The partial unique index on the
nonce of a link that acted makes a signed link act at most once, even when two clicks race.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DONE_LINK = "outcome = 'done' AND action <> 'signin' AND link_nonce IS NOT NULL"


def upgrade() -> None:
    op.create_table(
        "web_audit",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("person", sa.String(), nullable=True),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("target", sa.String(), nullable=True),
        sa.Column("decision", sa.String(), nullable=True),
        sa.Column("week", sa.String(), nullable=True),
        sa.Column("outcome", sa.String(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("auth", sa.String(), nullable=False),
        sa.Column("link_nonce", sa.String(), nullable=True),
        sa.Column("remote_addr", sa.String(), nullable=True),
        sa.CheckConstraint("outcome IN ('done', 'already_done', 'refused')",
                           name=op.f("ck_web_audit_outcome")),
        sa.CheckConstraint("auth IN ('link', 'header', 'session', 'none')",
                           name=op.f("ck_web_audit_auth")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_audit")),
    )
    op.create_index("ix_web_audit_at", "web_audit", ["at"])
    op.create_index("uq_web_audit_link_done", "web_audit", ["link_nonce"], unique=True,
                    sqlite_where=sa.text(_DONE_LINK), postgresql_where=sa.text(_DONE_LINK))


def downgrade() -> None:
    op.drop_index("uq_web_audit_link_done", table_name="web_audit")
    op.drop_index("ix_web_audit_at", table_name="web_audit")
    op.drop_table("web_audit")
