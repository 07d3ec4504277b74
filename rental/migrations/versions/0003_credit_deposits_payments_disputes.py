"""credit deposits payments disputes

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 02:29:05.087605
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "credit_events",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("delta", sa.Integer(), nullable=False),
        sa.Column("score_after", sa.Integer(), nullable=False),
        sa.Column("reference", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("reference"),
    )
    op.create_index(
        "credit_events_by_user", "credit_events", ["user_id", "created_at"], unique=False
    )
    op.create_table(
        "payment_orders",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("rider_id", sa.UUID(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("gateway", sa.String(length=24), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("trade_no", sa.String(length=64), nullable=True),
        sa.Column("pay_url", sa.Text(), nullable=True),
        sa.Column("refunded_minor", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("amount_minor > 0", name="payment_orders_positive"),
        sa.CheckConstraint(
            "refunded_minor BETWEEN 0 AND amount_minor", name="payment_orders_refundable"
        ),
        sa.ForeignKeyConstraint(
            ["rider_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "rider_id", "idempotency_key", name="payment_orders_rider_idempotency_key"
        ),
    )
    op.create_table(
        "refunds",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("order_id", sa.UUID(), nullable=False),
        sa.Column("rider_id", sa.UUID(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("request_key", sa.String(length=80), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("amount_minor > 0", name="refunds_positive"),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["payment_orders.id"],
        ),
        sa.ForeignKeyConstraint(
            ["rider_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_key"),
    )
    op.create_table(
        "disputes",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("rental_id", sa.UUID(), nullable=False),
        sa.Column("rider_id", sa.UUID(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("refund_minor", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["rental_id"],
            ["rentals.id"],
        ),
        sa.ForeignKeyConstraint(
            ["rider_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "disputes_one_open_per_rental",
        "disputes",
        ["rental_id"],
        unique=True,
        postgresql_where=sa.text("state = 'open'"),
    )
    op.add_column(
        "pricing_plans",
        sa.Column("deposit_minor", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
    )
    op.add_column("pricing_plans", sa.Column("deposit_waiver_score", sa.Integer(), nullable=True))
    for fee in ("reservation_per_minute_minor", "out_of_zone_fee_minor"):
        op.add_column(
            "pricing_plans",
            sa.Column(fee, sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        )
    op.add_column(
        "users",
        sa.Column("credit_score", sa.Integer(), server_default=sa.text("600"), nullable=False),
    )


def downgrade() -> None:
    op.drop_column("users", "credit_score")
    op.drop_column("pricing_plans", "out_of_zone_fee_minor")
    op.drop_column("pricing_plans", "reservation_per_minute_minor")
    op.drop_column("pricing_plans", "deposit_waiver_score")
    op.drop_column("pricing_plans", "deposit_minor")
    op.drop_index(
        "disputes_one_open_per_rental",
        table_name="disputes",
        postgresql_where=sa.text("state = 'open'"),
    )
    op.drop_table("disputes")
    op.drop_table("refunds")
    op.drop_table("payment_orders")
    op.drop_index("credit_events_by_user", table_name="credit_events")
    op.drop_table("credit_events")
