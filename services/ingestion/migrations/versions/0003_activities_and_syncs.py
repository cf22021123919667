"""Activities and their merges, sync runs, the athletes' provider links, and the work state of
notifications.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-09
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column(
        "provider_notifications", sa.Column("status", sa.String(), nullable=False, server_default="pending")
    )
    op.add_column(
        "provider_notifications", sa.Column("attempts", sa.Integer(), nullable=False, server_default="0")
    )
    op.add_column(
        "provider_notifications",
        sa.Column("next_attempt_at", TIMESTAMP, nullable=False, server_default=sa.func.now()),
    )
    op.add_column("provider_notifications", sa.Column("processed_at", TIMESTAMP, nullable=True))
    op.add_column("provider_notifications", sa.Column("last_error", sa.String(), nullable=True))
    # Notifications stored before this revision were acknowledged and never fetched: the worker takes them.
    op.alter_column("provider_notifications", "status", server_default=None)
    op.alter_column("provider_notifications", "attempts", server_default=None)
    op.create_index(
        "ix_provider_notifications_due",
        "provider_notifications",
        ["next_attempt_at"],
        postgresql_where=sa.text("status = 'pending'"),
    )

    op.create_table(
        "provider_links",
        sa.Column("connection_id", sa.String(), primary_key=True),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("provider", sa.String(), nullable=False),
        sa.Column("provider_user_id", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("linked_at", TIMESTAMP, nullable=False),
        sa.Column("last_polled_at", TIMESTAMP, nullable=True),
        sa.UniqueConstraint("provider", "provider_user_id", name="uq_provider_links_account"),
    )
    op.create_index("ix_provider_links_user_id", "provider_links", ["user_id"])

    op.create_table(
        "activities",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("connection_id", sa.String(), nullable=True),
        sa.Column("provider", sa.String(), nullable=False),
        sa.Column("external_id", sa.String(), nullable=False),
        sa.Column("provider_user_id", sa.String(), nullable=True),
        sa.Column("sport", sa.String(), nullable=False),
        sa.Column("sub_sport", sa.String(), nullable=True),
        sa.Column("sport_type", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=True),
        sa.Column("start_time", TIMESTAMP, nullable=False),
        sa.Column("timezone", sa.String(), nullable=True),
        sa.Column("utc_offset_seconds", sa.Integer(), nullable=True),
        sa.Column("elapsed_time_s", sa.Integer(), nullable=True),
        sa.Column("moving_time_s", sa.Integer(), nullable=True),
        sa.Column("distance_m", sa.Float(), nullable=True),
        sa.Column("elevation_gain_m", sa.Float(), nullable=True),
        sa.Column("average_heartrate", sa.Float(), nullable=True),
        sa.Column("max_heartrate", sa.Float(), nullable=True),
        sa.Column("average_power_w", sa.Float(), nullable=True),
        sa.Column("max_power_w", sa.Float(), nullable=True),
        sa.Column("normalized_power_w", sa.Float(), nullable=True),
        sa.Column("average_speed_mps", sa.Float(), nullable=True),
        sa.Column("max_speed_mps", sa.Float(), nullable=True),
        sa.Column("average_cadence", sa.Float(), nullable=True),
        sa.Column("calories", sa.Float(), nullable=True),
        sa.Column("device_name", sa.String(), nullable=True),
        sa.Column("is_manual", sa.Boolean(), nullable=False),
        sa.Column("raw", postgresql.JSONB(), nullable=False),
        sa.Column(
            "duplicate_of", sa.Uuid(), sa.ForeignKey("activities.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column("matched_session_id", sa.String(), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", TIMESTAMP, nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("provider", "external_id", name="uq_activities_provider_external_id"),
    )
    op.create_index("ix_activities_user_start", "activities", ["user_id", "start_time"])
    op.create_index("ix_activities_duplicate_of", "activities", ["duplicate_of"])

    op.create_table(
        "activity_merges",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("kept_id", sa.Uuid(), sa.ForeignKey("activities.id", ondelete="CASCADE"), nullable=False),
        sa.Column(
            "duplicate_id", sa.Uuid(), sa.ForeignKey("activities.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("evidence", postgresql.JSONB(), nullable=False),
        sa.Column("merged_at", TIMESTAMP, nullable=False),
        sa.Column("undone_at", TIMESTAMP, nullable=True),
        sa.Column("undone_by", sa.String(), nullable=True),
        sa.UniqueConstraint("kept_id", "duplicate_id", name="uq_activity_merges_pair"),
    )
    op.create_index("ix_activity_merges_user_id", "activity_merges", ["user_id"])
    op.create_index("ix_activity_merges_duplicate_id", "activity_merges", ["duplicate_id"])

    op.create_table(
        "sync_runs",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("connection_id", sa.String(), nullable=False),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("provider", sa.String(), nullable=False),
        sa.Column("provider_user_id", sa.String(), nullable=False),
        sa.Column("trigger", sa.String(), nullable=False),
        sa.Column("since", TIMESTAMP, nullable=False),
        sa.Column("until", TIMESTAMP, nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("cursor", postgresql.JSONB(), nullable=True),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("activities_fetched", sa.Integer(), nullable=False),
        sa.Column("activities_created", sa.Integer(), nullable=False),
        sa.Column("activities_updated", sa.Integer(), nullable=False),
        sa.Column("activities_skipped", sa.Integer(), nullable=False),
        sa.Column("expected_total", sa.Integer(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TIMESTAMP, nullable=False),
        sa.Column("lease_until", TIMESTAMP, nullable=True),
        sa.Column("error", sa.String(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("started_at", TIMESTAMP, nullable=True),
        sa.Column("completed_at", TIMESTAMP, nullable=True),
    )
    op.create_index("ix_sync_runs_connection_id", "sync_runs", ["connection_id"])
    op.create_index("ix_sync_runs_user_id", "sync_runs", ["user_id"])
    op.create_index(
        "ix_sync_runs_due",
        "sync_runs",
        ["next_attempt_at"],
        postgresql_where=sa.text("status IN ('pending', 'running')"),
    )


def downgrade() -> None:
    op.drop_table("sync_runs")
    op.drop_table("activity_merges")
    op.drop_table("activities")
    op.drop_table("provider_links")
    op.drop_index("ix_provider_notifications_due", table_name="provider_notifications")
    for column in ("last_error", "processed_at", "next_attempt_at", "attempts", "status"):
        op.drop_column("provider_notifications", column)
