"""Connections to every provider: statuses, sealed tokens of every kind, sync history, link attempts
and expiring provider subscriptions. The Strava credentials of 0002 become connections.

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

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.rename_table("provider_credentials", "provider_connections")
    op.execute(
        "ALTER TABLE provider_connections RENAME CONSTRAINT uq_provider_credentials_user_provider "
        "TO uq_provider_connections_user_provider"
    )
    op.execute(
        "ALTER TABLE provider_connections RENAME CONSTRAINT provider_credentials_pkey TO provider_connections_pkey"
    )
    op.execute(
        "ALTER INDEX ix_provider_credentials_provider_user RENAME TO ix_provider_connections_provider_user"
    )
    op.add_column(
        "provider_connections", sa.Column("auth_type", sa.String(), nullable=False, server_default="oauth2")
    )
    op.alter_column("provider_connections", "auth_type", server_default=None)
    op.add_column(
        "provider_connections", sa.Column("status", sa.String(), nullable=False, server_default="active")
    )
    op.alter_column("provider_connections", "status", server_default=None)
    op.add_column("provider_connections", sa.Column("status_reason", sa.String(), nullable=True))
    op.add_column(
        "provider_connections", sa.Column("is_active", sa.Boolean(), nullable=False, server_default=sa.true())
    )
    op.alter_column("provider_connections", "is_active", server_default=None)
    op.alter_column("provider_connections", "access_token_sealed", nullable=True)
    op.alter_column("provider_connections", "refresh_token_sealed", nullable=True)
    op.alter_column("provider_connections", "key_id", nullable=True)
    op.alter_column("provider_connections", "access_expires_at", nullable=True)
    op.add_column("provider_connections", sa.Column("token_secret_sealed", sa.String(), nullable=True))
    op.add_column("provider_connections", sa.Column("data_key_sealed", sa.String(), nullable=True))
    op.add_column("provider_connections", sa.Column("refresh_expires_at", TIMESTAMP, nullable=True))
    op.add_column("provider_connections", sa.Column("provider_username", sa.String(), nullable=True))
    op.add_column(
        "provider_connections",
        sa.Column("provider_profile", postgresql.JSONB(), nullable=False, server_default="{}"),
    )
    op.add_column("provider_connections", sa.Column("linked_at", TIMESTAMP, nullable=True))
    op.execute("UPDATE provider_connections SET linked_at = created_at")
    op.alter_column("provider_connections", "linked_at", nullable=False)
    op.add_column("provider_connections", sa.Column("last_refreshed_at", TIMESTAMP, nullable=True))
    op.add_column(
        "provider_connections",
        sa.Column("refresh_failures", sa.Integer(), nullable=False, server_default="0"),
    )
    op.alter_column("provider_connections", "refresh_failures", server_default=None)
    op.add_column("provider_connections", sa.Column("last_used_at", TIMESTAMP, nullable=True))
    op.add_column("provider_connections", sa.Column("last_sync_at", TIMESTAMP, nullable=True))
    op.add_column("provider_connections", sa.Column("last_sync_error", sa.String(), nullable=True))
    op.add_column(
        "provider_connections",
        sa.Column("warnings_sent", postgresql.JSONB(), nullable=False, server_default="{}"),
    )
    op.create_index(
        "ix_provider_connections_access_expires_at", "provider_connections", ["access_expires_at"]
    )

    op.create_table(
        "sync_history",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "connection_id",
            sa.Uuid(),
            sa.ForeignKey("provider_connections.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("provider", sa.String(), nullable=False),
        sa.Column("trigger", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("requested_at", TIMESTAMP, nullable=False),
        sa.Column("started_at", TIMESTAMP, nullable=True),
        sa.Column("completed_at", TIMESTAMP, nullable=True),
        sa.Column("activities_fetched", sa.Integer(), nullable=False),
        sa.Column("activities_created", sa.Integer(), nullable=False),
        sa.Column("activities_updated", sa.Integer(), nullable=False),
        sa.Column("activities_skipped", sa.Integer(), nullable=False),
        sa.Column("percent", sa.Float(), nullable=True),
        sa.Column("error_message", sa.String(), nullable=True),
    )
    op.create_index("ix_sync_history_connection_requested", "sync_history", ["connection_id", "requested_at"])

    op.create_table(
        "link_attempts",
        sa.Column("state_hash", sa.String(), primary_key=True),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("provider", sa.String(), nullable=False),
        sa.Column("code_verifier_sealed", sa.String(), nullable=True),
        sa.Column("app_redirect_uri", sa.String(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("expires_at", TIMESTAMP, nullable=False),
        sa.Column("used_at", TIMESTAMP, nullable=True),
    )

    op.create_table(
        "provider_subscriptions",
        sa.Column("provider", sa.String(), primary_key=True),
        sa.Column("subscription_id", sa.String(), primary_key=True),
        sa.Column("data_type", sa.String(), nullable=False),
        sa.Column("event_type", sa.String(), nullable=False),
        sa.Column("expires_at", TIMESTAMP, nullable=False),
        sa.Column("renewed_at", TIMESTAMP, nullable=True),
        sa.Column("last_error", sa.String(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("provider_subscriptions")
    op.drop_table("link_attempts")
    op.drop_index("ix_sync_history_connection_requested", table_name="sync_history")
    op.drop_table("sync_history")
    op.drop_index("ix_provider_connections_access_expires_at", table_name="provider_connections")
    for column in (
        "warnings_sent",
        "last_sync_error",
        "last_sync_at",
        "last_used_at",
        "refresh_failures",
        "last_refreshed_at",
        "linked_at",
        "provider_profile",
        "provider_username",
        "refresh_expires_at",
        "data_key_sealed",
        "token_secret_sealed",
        "is_active",
        "status_reason",
        "status",
        "auth_type",
    ):
        op.drop_column("provider_connections", column)
    op.execute(
        "ALTER INDEX ix_provider_connections_provider_user RENAME TO ix_provider_credentials_provider_user"
    )
    op.execute(
        "ALTER TABLE provider_connections RENAME CONSTRAINT provider_connections_pkey TO provider_credentials_pkey"
    )
    op.execute(
        "ALTER TABLE provider_connections RENAME CONSTRAINT uq_provider_connections_user_provider "
        "TO uq_provider_credentials_user_provider"
    )
    op.rename_table("provider_connections", "provider_credentials")
