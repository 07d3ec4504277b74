"""cabinets and items

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 19:06:19.287767
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cabinets",
        sa.Column("lock_id", sa.String(length=40), nullable=False),
        sa.Column("city_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("slots", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("slots BETWEEN 1 AND 200", name="cabinets_slots"),
        sa.ForeignKeyConstraint(
            ["city_id"],
            ["cities.id"],
        ),
        sa.ForeignKeyConstraint(
            ["lock_id"],
            ["locks.id"],
        ),
        sa.PrimaryKeyConstraint("lock_id"),
    )
    op.add_column("assets", sa.Column("cabinet_id", sa.String(length=40), nullable=True))
    op.add_column("assets", sa.Column("slot", sa.Integer(), nullable=True))
    op.alter_column("assets", "lock_id", existing_type=sa.VARCHAR(length=40), nullable=True)
    op.create_unique_constraint("assets_one_per_slot", "assets", ["cabinet_id", "slot"])
    op.create_foreign_key(
        "assets_cabinet_id_fkey", "assets", "cabinets", ["cabinet_id"], ["lock_id"]
    )
    op.create_check_constraint(
        "assets_lock_or_cabinet", "assets", "lock_id IS NULL OR cabinet_id IS NULL"
    )
    op.create_check_constraint(
        "assets_cabinet_has_slot", "assets", "(cabinet_id IS NULL) = (slot IS NULL)"
    )
    op.add_column(
        "pricing_plans", sa.Column("replacement_price_minor", sa.BigInteger(), nullable=True)
    )
    op.add_column("rentals", sa.Column("slot", sa.Integer(), nullable=True))
    op.add_column(
        "rentals",
        sa.Column("unreturned", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )


def downgrade() -> None:
    op.drop_column("rentals", "unreturned")
    op.drop_column("rentals", "slot")
    op.drop_column("pricing_plans", "replacement_price_minor")
    op.drop_constraint("assets_cabinet_has_slot", "assets", type_="check")
    op.drop_constraint("assets_lock_or_cabinet", "assets", type_="check")
    op.drop_constraint("assets_cabinet_id_fkey", "assets", type_="foreignkey")
    op.drop_constraint("assets_one_per_slot", "assets", type_="unique")
    op.alter_column("assets", "lock_id", existing_type=sa.VARCHAR(length=40), nullable=False)
    op.drop_column("assets", "slot")
    op.drop_column("assets", "cabinet_id")
    op.drop_table("cabinets")
