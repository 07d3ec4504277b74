"""phone sign-in: the sign-in code waiting for each phone, and the sandbox SMS outbox

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-03 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "phone_codes",
        sa.Column("phone", sa.String(16), primary_key=True),
        sa.Column("code_hash", sa.LargeBinary(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tries_left", sa.Integer(), nullable=False),
        sa.CheckConstraint("octet_length(code_hash) = 32", name="phone_codes_sha256"),
        sa.CheckConstraint("tries_left >= 0", name="phone_codes_tries"),
    )
    op.create_table(
        "sandbox_sms",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("phone", sa.String(16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column(
            "sent_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")
        ),
    )


def downgrade() -> None:
    op.drop_table("sandbox_sms")
    op.drop_table("phone_codes")
