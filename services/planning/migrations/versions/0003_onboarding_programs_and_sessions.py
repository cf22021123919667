"""Onboarding answers, goals, the template library, programs with their weeks and sessions, and the
recalculations of a program.

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
        "goals",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("event_name", sa.String(), nullable=False),
        sa.Column("event_date", sa.Date(), nullable=False),
        sa.Column("distance_type", sa.String(), nullable=False),
        sa.Column("target_time_s", sa.Integer(), nullable=True),
        sa.Column("event_location", sa.String(), nullable=True),
        sa.Column("event_url", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_goals_user_id"), "goals", ["user_id"], unique=False)
    op.create_table(
        "onboardings",
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("goal_id", sa.String(), nullable=True),
        sa.Column("weekly_hours", sa.Float(), nullable=True),
        sa.Column("unavailable_days", postgresql.ARRAY(sa.Integer()), nullable=True),
        sa.Column("preferred_long_day", sa.Integer(), nullable=True),
        sa.Column("availability_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("constraints", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("constraints_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("target_time_s", sa.Integer(), nullable=True),
        sa.Column("max_hr_manual", sa.Integer(), nullable=True),
        sa.Column("ftp_manual", sa.Integer(), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("user_id"),
    )
    op.create_table(
        "program_templates",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("slug", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("distance_type", sa.String(), nullable=False),
        sa.Column("experience_level", sa.String(), nullable=False),
        sa.Column("duration_weeks", sa.Integer(), nullable=False),
        sa.Column("weekly_hours_min", sa.Float(), nullable=False),
        sa.Column("weekly_hours_max", sa.Float(), nullable=False),
        sa.Column("description", sa.String(), nullable=False),
        sa.Column("definition", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("builtin", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("slug"),
    )
    op.create_table(
        "programs",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("goal_id", sa.String(), nullable=False),
        sa.Column("template_id", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("total_weeks", sa.Integer(), nullable=False),
        sa.Column("weekly_hours_target", sa.Float(), nullable=False),
        sa.Column("phases", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("inputs", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("last_recalc_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_programs_user_id"), "programs", ["user_id"], unique=False)
    op.create_index(
        "ux_programs_one_active",
        "programs",
        ["user_id"],
        unique=True,
        postgresql_where=sa.text("status = 'active'"),
    )
    op.create_table(
        "program_weeks",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("program_id", sa.String(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("phase", sa.String(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("recovery", sa.Boolean(), nullable=False),
        sa.Column("target_minutes", sa.Integer(), nullable=False),
        sa.Column("recalc_notes", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(["program_id"], ["programs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("program_id", "number"),
    )
    op.create_table(
        "recalculations",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("program_id", sa.String(), nullable=False),
        sa.Column("trigger", sa.String(), nullable=False),
        sa.Column("changes", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "triggered_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.ForeignKeyConstraint(["program_id"], ["programs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_recalculations_program_id"), "recalculations", ["program_id"], unique=False)
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("program_id", sa.String(), nullable=False),
        sa.Column("week_number", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("scheduled_date", sa.Date(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("sport", sa.String(), nullable=False),
        sa.Column("session_type", sa.String(), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("objective", sa.String(), nullable=False),
        sa.Column("tips", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("duration_planned", sa.Integer(), nullable=False),
        sa.Column("distance_planned", sa.Float(), nullable=True),
        sa.Column("indoor", sa.Boolean(), nullable=False),
        sa.Column("slot", sa.String(), nullable=True),
        sa.Column("workout", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("skip_reason", sa.String(), nullable=True),
        sa.Column("skip_notes", sa.String(), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("actual_duration", sa.Integer(), nullable=True),
        sa.Column("actual_distance", sa.Float(), nullable=True),
        sa.Column("actual_avg_hr", sa.Integer(), nullable=True),
        sa.Column("activity_id", sa.String(), nullable=True),
        sa.Column("perceived_effort", sa.Integer(), nullable=True),
        sa.Column("notes", sa.String(), nullable=True),
        sa.Column("feedback", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["program_id"], ["programs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_sessions_program_id"), "sessions", ["program_id"], unique=False)
    op.create_index("ix_sessions_user_date", "sessions", ["user_id", "scheduled_date"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_sessions_user_date", table_name="sessions")
    op.drop_index(op.f("ix_sessions_program_id"), table_name="sessions")
    op.drop_table("sessions")
    op.drop_index(op.f("ix_recalculations_program_id"), table_name="recalculations")
    op.drop_table("recalculations")
    op.drop_table("program_weeks")
    op.drop_index(
        "ux_programs_one_active", table_name="programs", postgresql_where=sa.text("status = 'active'")
    )
    op.drop_index(op.f("ix_programs_user_id"), table_name="programs")
    op.drop_table("programs")
    op.drop_table("program_templates")
    op.drop_table("onboardings")
    op.drop_index(op.f("ix_goals_user_id"), table_name="goals")
    op.drop_table("goals")
