"""fair use: payment orders expire; a rider's recent holds and damage reports by index

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = sa.text("state = 'pending'")


def upgrade() -> None:
    op.add_column("payment_orders", sa.Column("expires_at", sa.DateTime(timezone=True)))
    # Orders from before: each had the default wait of 30 minutes.
    op.execute("UPDATE payment_orders SET expires_at = created_at + interval '30 minutes'")
    op.alter_column("payment_orders", "expires_at", nullable=False)
    op.create_index(
        "payment_orders_pending_by_rider",
        "payment_orders",
        ["rider_id", "expires_at"],
        postgresql_where=PENDING,
    )
    op.create_index(
        "payment_orders_pending_by_expiry",
        "payment_orders",
        ["expires_at"],
        postgresql_where=PENDING,
    )
    op.create_index("reservations_by_rider", "reservations", ["rider_id", "ended_at"])
    op.create_index("damage_reports_by_reporter", "damage_reports", ["reporter_id", "created_at"])


def downgrade() -> None:
    op.drop_index("damage_reports_by_reporter", "damage_reports")
    op.drop_index("reservations_by_rider", "reservations")
    op.drop_index("payment_orders_pending_by_expiry", "payment_orders")
    op.drop_index("payment_orders_pending_by_rider", "payment_orders")
    op.drop_column("payment_orders", "expires_at")
