"""Initial schema of the ingestion service: the platform's outbox and processed-message log, and its own tables.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from relay_platform.migrations import create_platform_tables, drop_platform_tables

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_platform_tables()
    op.create_table(
        "provider_notifications",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("provider", sa.String(), nullable=False),
        sa.Column("fingerprint", sa.String(), nullable=False),
        sa.Column("owner_id", sa.String(), nullable=False),
        sa.Column("object_type", sa.String(), nullable=False),
        sa.Column("object_id", sa.String(), nullable=False),
        sa.Column("aspect_type", sa.String(), nullable=False),
        sa.Column("event_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", postgresql.JSONB(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("provider", "fingerprint", name="uq_provider_notifications_fingerprint"),
    )
    op.create_index("ix_provider_notifications_owner_id", "provider_notifications", ["owner_id"])


def downgrade() -> None:
    op.drop_table("provider_notifications")
    drop_platform_tables()
