"""a latch whose state is unknown after an unanswered unlock

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 11:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("locks", sa.Column("latch_unknown_since", sa.DateTime(timezone=True)))


def downgrade() -> None:
    op.drop_column("locks", "latch_unknown_since")
