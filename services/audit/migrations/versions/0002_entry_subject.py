"""The envelope's subject on each audit entry, so that an athlete's entries can be found and erased.

Entries recorded before this revision keep an unknown (NULL) subject: the envelope is not kept.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("audit_entries", sa.Column("subject", sa.String(), nullable=True))
    # The trail is the largest table of all: build the index without blocking the consumer's inserts.
    with op.get_context().autocommit_block():
        op.create_index(
            "ix_audit_entries_subject", "audit_entries", ["subject"], postgresql_concurrently=True
        )


def downgrade() -> None:
    op.drop_index("ix_audit_entries_subject", table_name="audit_entries")
    op.drop_column("audit_entries", "subject")
