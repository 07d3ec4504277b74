"""users.phone_proven: whether a code texted to the account's number was ever typed back

Accounts made by a code (no password, '!') proved their number when they were made.

Revision ID: 0023_phone_proven
Revises: 0022
Create Date: 2026-12-01 00:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023_phone_proven"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "users",
        sa.Column("phone_proven", sa.Boolean(), nullable=False, server_default=sa.text("false")),
    )
    op.execute("UPDATE users SET phone_proven = true WHERE password_hash = '!'")


def downgrade() -> None:
    op.drop_column("users", "phone_proven")
