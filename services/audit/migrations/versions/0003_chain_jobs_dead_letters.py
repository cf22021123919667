"""The trail's hash chain (and the anchor it starts from once pruned), emptied entries of erased
athletes, scheduled jobs with their executions, and dead-lettered messages.

Entries recorded before this revision are chained here, in their order; their filters' indexes now
cover the time too (newest first within a type).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from audit.chain import CHAINED_FIELDS, GENESIS, chain_hash, content_hash

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_chain_anchor",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("chain_hash", sa.String(), nullable=False),
        sa.Column("pruned_entries", sa.BigInteger(), nullable=False),
        sa.Column("redacted_pruned_early", sa.BigInteger(), nullable=False),
        sa.Column("pruned_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("dlq_partition", sa.Integer(), nullable=False),
        sa.Column("dlq_offset", sa.BigInteger(), nullable=False),
        sa.Column("consumer", sa.String(), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("original_topic", sa.String(), nullable=False),
        sa.Column("original_partition", sa.Integer(), nullable=True),
        sa.Column("original_offset", sa.BigInteger(), nullable=True),
        sa.Column("key", sa.LargeBinary(), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("headers", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("event_type", sa.String(), nullable=True),
        sa.Column("event_id", sa.String(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("replayed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("replayed_by", sa.String(), nullable=True),
        sa.Column("replays", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dlq_partition", "dlq_offset"),
    )
    op.create_index(op.f("ix_dead_letters_consumer"), "dead_letters", ["consumer"], unique=False)
    op.create_index(op.f("ix_dead_letters_event_type"), "dead_letters", ["event_type"], unique=False)
    op.create_index(op.f("ix_dead_letters_failed_at"), "dead_letters", ["failed_at"], unique=False)
    op.create_index(op.f("ix_dead_letters_status"), "dead_letters", ["status"], unique=False)
    op.create_table(
        "job_executions",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("job_id", sa.String(), nullable=False),
        sa.Column("trigger", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("requested_by", sa.String(), nullable=True),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("result", sa.String(), nullable=True),
        sa.Column("error", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_job_executions_job_id"), "job_executions", ["job_id"], unique=False)
    op.create_index(
        "ix_job_executions_job_id_started_at", "job_executions", ["job_id", "started_at"], unique=False
    )
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("service", sa.String(), nullable=False),
        sa.Column("worker", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("cron", sa.String(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("declared", sa.Boolean(), nullable=False),
        sa.Column("declared_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_jobs_service"), "jobs", ["service"], unique=False)
    op.add_column("audit_entries", sa.Column("erased_entries", sa.Integer(), nullable=True))
    op.add_column("audit_entries", sa.Column("content_hash", sa.String(), nullable=True))
    op.add_column("audit_entries", sa.Column("chain_hash", sa.String(), nullable=True))
    _chain_existing_entries()
    op.alter_column("audit_entries", "content_hash", nullable=False)
    op.alter_column("audit_entries", "chain_hash", nullable=False)
    op.add_column("audit_entries", sa.Column("redacted_at", sa.DateTime(timezone=True), nullable=True))
    op.alter_column("audit_entries", "event_id", existing_type=sa.UUID(), nullable=True)
    op.alter_column("audit_entries", "event_type", existing_type=sa.VARCHAR(), nullable=True)
    op.alter_column("audit_entries", "event_version", existing_type=sa.INTEGER(), nullable=True)
    op.alter_column("audit_entries", "entity_type", existing_type=sa.VARCHAR(), nullable=True)
    op.alter_column("audit_entries", "entity_id", existing_type=sa.VARCHAR(), nullable=True)
    op.alter_column("audit_entries", "actor_type", existing_type=sa.VARCHAR(), nullable=True)
    op.alter_column("audit_entries", "producer", existing_type=sa.VARCHAR(), nullable=True)
    op.alter_column("audit_entries", "payload_digest", existing_type=sa.VARCHAR(), nullable=True)
    op.alter_column(
        "audit_entries", "occurred_at", existing_type=postgresql.TIMESTAMP(timezone=True), nullable=True
    )
    op.drop_index(op.f("ix_audit_entries_actor_type"), table_name="audit_entries")
    op.drop_index(op.f("ix_audit_entries_entity_type"), table_name="audit_entries")
    op.drop_index(op.f("ix_audit_entries_event_type"), table_name="audit_entries")
    op.create_index(op.f("ix_audit_entries_actor_id"), "audit_entries", ["actor_id"], unique=False)
    op.create_index(
        "ix_audit_entries_actor_type_occurred_at",
        "audit_entries",
        ["actor_type", "occurred_at"],
        unique=False,
    )
    op.create_index(
        "ix_audit_entries_entity_type_occurred_at",
        "audit_entries",
        ["entity_type", "occurred_at"],
        unique=False,
    )
    op.create_index(
        "ix_audit_entries_event_type_occurred_at",
        "audit_entries",
        ["event_type", "occurred_at"],
        unique=False,
    )


def _chain_existing_entries() -> None:
    entries = sa.table(
        "audit_entries",
        sa.column("seq"),
        sa.column("content_hash"),
        sa.column("chain_hash"),
        *(sa.column(name) for name in CHAINED_FIELDS if name != "erased_entries"),
    )
    connection = op.get_bind()
    previous = GENESIS
    rows = connection.execute(sa.select(entries).order_by(entries.c.seq)).mappings().all()
    for row in rows:
        content = content_hash(row)
        previous = chain_hash(previous, content)
        connection.execute(
            entries.update()
            .where(entries.c.seq == row["seq"])
            .values(content_hash=content, chain_hash=previous)
        )


def downgrade() -> None:
    op.drop_index("ix_audit_entries_event_type_occurred_at", table_name="audit_entries")
    op.drop_index("ix_audit_entries_entity_type_occurred_at", table_name="audit_entries")
    op.drop_index("ix_audit_entries_actor_type_occurred_at", table_name="audit_entries")
    op.drop_index(op.f("ix_audit_entries_actor_id"), table_name="audit_entries")
    op.create_index(op.f("ix_audit_entries_event_type"), "audit_entries", ["event_type"], unique=False)
    op.create_index(op.f("ix_audit_entries_entity_type"), "audit_entries", ["entity_type"], unique=False)
    op.create_index(op.f("ix_audit_entries_actor_type"), "audit_entries", ["actor_type"], unique=False)
    op.alter_column(
        "audit_entries", "occurred_at", existing_type=postgresql.TIMESTAMP(timezone=True), nullable=False
    )
    op.alter_column("audit_entries", "payload_digest", existing_type=sa.VARCHAR(), nullable=False)
    op.alter_column("audit_entries", "producer", existing_type=sa.VARCHAR(), nullable=False)
    op.alter_column("audit_entries", "actor_type", existing_type=sa.VARCHAR(), nullable=False)
    op.alter_column("audit_entries", "entity_id", existing_type=sa.VARCHAR(), nullable=False)
    op.alter_column("audit_entries", "entity_type", existing_type=sa.VARCHAR(), nullable=False)
    op.alter_column("audit_entries", "event_version", existing_type=sa.INTEGER(), nullable=False)
    op.alter_column("audit_entries", "event_type", existing_type=sa.VARCHAR(), nullable=False)
    op.alter_column("audit_entries", "event_id", existing_type=sa.UUID(), nullable=False)
    op.drop_column("audit_entries", "redacted_at")
    op.drop_column("audit_entries", "chain_hash")
    op.drop_column("audit_entries", "content_hash")
    op.drop_column("audit_entries", "erased_entries")
    op.drop_index(op.f("ix_jobs_service"), table_name="jobs")
    op.drop_table("jobs")
    op.drop_index("ix_job_executions_job_id_started_at", table_name="job_executions")
    op.drop_index(op.f("ix_job_executions_job_id"), table_name="job_executions")
    op.drop_table("job_executions")
    op.drop_index(op.f("ix_dead_letters_status"), table_name="dead_letters")
    op.drop_index(op.f("ix_dead_letters_failed_at"), table_name="dead_letters")
    op.drop_index(op.f("ix_dead_letters_event_type"), table_name="dead_letters")
    op.drop_index(op.f("ix_dead_letters_consumer"), table_name="dead_letters")
    op.drop_table("dead_letters")
    op.drop_table("audit_chain_anchor")
