"""The sessions export works from, the athletes' auto-export choices and the workouts pushed to providers.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "export_settings",
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("auto_export", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id"),
    )
    op.create_table(
        "planned_sessions",
        sa.Column("session_id", sa.String(), nullable=False),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("program_id", sa.String(), nullable=False),
        sa.Column("scheduled_date", sa.Date(), nullable=False),
        sa.Column("sport", sa.String(), nullable=False),
        sa.Column("session_type", sa.String(), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("workout", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("thresholds", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("planned_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("session_id"),
    )
    op.create_index(op.f("ix_planned_sessions_user_id"), "planned_sessions", ["user_id"], unique=False)
    op.create_table(
        "workout_exports",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("session_id", sa.String(), nullable=False),
        sa.Column("provider", sa.String(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("idempotency_key", sa.String(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("in_doubt", sa.Boolean(), nullable=False),
        sa.Column("failure_reason", sa.String(), nullable=True),
        sa.Column("last_error", sa.String(), nullable=True),
        sa.Column("provider_workout_id", sa.String(), nullable=True),
        sa.Column("provider_schedule_id", sa.String(), nullable=True),
        sa.Column("pushed_digest", sa.String(), nullable=True),
        sa.Column("pushed_date", sa.Date(), nullable=True),
        sa.Column("pushed_thresholds", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("exported_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("session_id", "provider", name="uq_workout_exports_session_provider"),
    )
    op.create_index(
        "ix_workout_exports_due",
        "workout_exports",
        ["next_attempt_at"],
        unique=False,
        postgresql_where=sa.text("status = 'queued'"),
    )
    op.create_index(op.f("ix_workout_exports_user_id"), "workout_exports", ["user_id"], unique=False)
    op.create_index(
        "uq_workout_exports_idempotency_key",
        "workout_exports",
        ["user_id", "idempotency_key"],
        unique=True,
        postgresql_where=sa.text("idempotency_key IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("uq_workout_exports_idempotency_key", table_name="workout_exports")
    op.drop_index(op.f("ix_workout_exports_user_id"), table_name="workout_exports")
    op.drop_index(
        "ix_workout_exports_due", table_name="workout_exports", postgresql_where=sa.text("status = 'queued'")
    )
    op.drop_table("workout_exports")
    op.drop_index(op.f("ix_planned_sessions_user_id"), table_name="planned_sessions")
    op.drop_table("planned_sessions")
    op.drop_table("export_settings")
