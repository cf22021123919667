"""When each active program's weekly review is due, and the training stress of each ingested activity.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "activity_loads",
        sa.Column("activity_id", sa.String(), nullable=False),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("sport", sa.String(), nullable=False),
        sa.Column("moving_time_s", sa.Integer(), nullable=False),
        sa.Column("stress", sa.Float(), nullable=False),
        sa.Column("method", sa.String(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("activity_id"),
    )
    op.create_index("ix_activity_loads_user_date", "activity_loads", ["user_id", "local_date"], unique=False)
    op.add_column("programs", sa.Column("review_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_programs_review_due",
        "programs",
        ["review_at"],
        unique=False,
        postgresql_where=sa.text("status = 'active'"),
    )
    # Programs already running are first reviewed next Monday at 06:00 UTC; each review then sets the
    # next one in the athlete's own timezone.
    op.execute(
        "UPDATE programs SET review_at = date_trunc('week', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
        " + interval '7 days 6 hours' WHERE status = 'active'"
    )


def downgrade() -> None:
    op.drop_index(
        "ix_programs_review_due", table_name="programs", postgresql_where=sa.text("status = 'active'")
    )
    op.drop_column("programs", "review_at")
    op.drop_index("ix_activity_loads_user_date", table_name="activity_loads")
    op.drop_table("activity_loads")
