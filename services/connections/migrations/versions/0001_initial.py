"""Initial schema of the connections service: the platform's outbox and processed-message log, and its own tables.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from relay_platform.migrations import create_platform_tables, drop_platform_tables

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_platform_tables()
    op.create_table(
        "provider_account_activity",
        sa.Column("provider", sa.String(), primary_key=True),
        sa.Column("provider_user_id", sa.String(), primary_key=True),
        sa.Column("notifications_received", sa.Integer(), nullable=False),
        sa.Column("last_notification_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deauthorized_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("provider_account_activity")
    drop_platform_tables()
