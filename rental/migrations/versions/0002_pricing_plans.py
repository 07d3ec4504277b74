"""pricing plans

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 02:21:41.797168
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pricing_plans",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("city_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("unlock_fee_minor", sa.BigInteger(), nullable=False),
        sa.Column("rate_per_interval_minor", sa.BigInteger(), nullable=False),
        sa.Column("interval_seconds", sa.Integer(), nullable=False),
        sa.Column("free_seconds", sa.Integer(), nullable=False),
        sa.Column("daily_cap_minor", sa.BigInteger(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["city_id"],
            ["cities.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "pricing_plans_one_current",
        "pricing_plans",
        ["city_id", "kind"],
        unique=True,
        postgresql_where=sa.text("retired_at IS NULL"),
    )
    op.add_column("rentals", sa.Column("plan_id", sa.UUID(), nullable=True))
    op.create_foreign_key("rentals_plan_id_fkey", "rentals", "pricing_plans", ["plan_id"], ["id"])


def downgrade() -> None:
    op.drop_constraint("rentals_plan_id_fkey", "rentals", type_="foreignkey")
    op.drop_column("rentals", "plan_id")
    op.drop_index(
        "pricing_plans_one_current",
        table_name="pricing_plans",
        postgresql_where=sa.text("retired_at IS NULL"),
    )
    op.drop_table("pricing_plans")
