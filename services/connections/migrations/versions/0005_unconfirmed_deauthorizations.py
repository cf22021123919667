"""Deauthorizations waiting for their provider's confirmation: a Strava deauthorization (unsigned) is
confirmed with Strava before anything is erased, and retried while Strava cannot answer.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "provider_account_activity",
        sa.Column("deauthorization_unconfirmed_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index(
        "ix_provider_account_activity_deauthorization_unconfirmed",
        "provider_account_activity",
        ["deauthorization_unconfirmed_at"],
        postgresql_where=sa.text("deauthorization_unconfirmed_at IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_provider_account_activity_deauthorization_unconfirmed", table_name="provider_account_activity"
    )
    op.drop_column("provider_account_activity", "deauthorization_unconfirmed_at")
