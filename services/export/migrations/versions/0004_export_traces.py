"""The trace of what queued an export last, continued when it is sent.

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
    op.add_column("workout_exports", sa.Column("traceparent", sa.String(), nullable=True))


def downgrade() -> None:
    op.drop_column("workout_exports", "traceparent")
