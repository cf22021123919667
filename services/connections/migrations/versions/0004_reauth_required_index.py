"""An index of the links waiting for their athlete to link again, per provider: the service counts them
for its metrics every minute by reading this index alone.

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
    op.create_index(
        "ix_provider_connections_reauth_required",
        "provider_connections",
        ["provider"],
        postgresql_where=sa.text("status = 'reauth_required'"),
    )


def downgrade() -> None:
    op.drop_index("ix_provider_connections_reauth_required", table_name="provider_connections")
