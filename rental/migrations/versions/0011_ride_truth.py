"""ride truth: the unlock's place in the lock's order, the latch's last report, dead
letters, lock report problems and operator alerts

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("rentals", sa.Column("unlock_boot", sa.BigInteger))
    op.add_column("rentals", sa.Column("unlock_seq", sa.BigInteger))
    op.add_column(
        "rentals",
        sa.Column("late_unlock", sa.Boolean, nullable=False, server_default=sa.text("false")),
    )
    op.add_column("rentals", sa.Column("notice", sa.Text))
    op.add_column("locks", sa.Column("latch_boot", sa.BigInteger))
    op.add_column("locks", sa.Column("latch_seq", sa.BigInteger))
    op.add_column("locks", sa.Column("latch_reported_at", sa.DateTime(timezone=True)))
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("topic", sa.Text, nullable=False),
        sa.Column("payload", sa.LargeBinary, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("replayed_at", sa.DateTime(timezone=True)),
        sa.Column("replay_outcome", sa.Text),
    )
    op.create_index(
        "dead_letters_open",
        "dead_letters",
        ["received_at"],
        postgresql_where=sa.text("replayed_at IS NULL"),
    )
    # A lock resends what was not acknowledged: the same message is kept once.
    op.create_index(
        "dead_letters_once",
        "dead_letters",
        ["topic", sa.text("md5(payload)")],
        unique=True,
        postgresql_where=sa.text("replayed_at IS NULL"),
    )
    op.create_table(
        "lock_report_problems",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("lock_id", sa.String(40), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("boot", sa.BigInteger, nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("dropped", JSONB, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "lock_report_problems_by_lock", "lock_report_problems", ["lock_id", "received_at"]
    )
    op.create_table(
        "alerts",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("lock_id", sa.String(40), nullable=False),
        sa.Column("asset_id", sa.UUID(as_uuid=True)),
        sa.Column("city_id", sa.String(40)),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True)),
    )
    op.create_index(
        "alerts_one_open_per_kind_and_lock",
        "alerts",
        ["kind", "lock_id"],
        unique=True,
        postgresql_where=sa.text("resolved_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_table("alerts")
    op.drop_table("lock_report_problems")
    op.drop_table("dead_letters")
    for column in ("latch_reported_at", "latch_seq", "latch_boot"):
        op.drop_column("locks", column)
    for column in ("notice", "late_unlock", "unlock_seq", "unlock_boot"):
        op.drop_column("rentals", column)
