"""searches that found no vehicle, counted per city, grid cell and hour; and the weight a
city's rebalancing gives them

Revision ID: 0027_unmet_demand
Revises: 0026
Create Date: 2026-12-01 03:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027_unmet_demand"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "unmet_searches",
        sa.Column("city_id", sa.String(40), sa.ForeignKey("cities.id"), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cell_x", sa.Integer(), nullable=False),
        sa.Column("cell_y", sa.Integer(), nullable=False),
        sa.Column("searches", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("city_id", "hour", "cell_x", "cell_y", name="unmet_searches_pkey"),
    )
    op.create_index("unmet_searches_by_hour", "unmet_searches", ["hour"])
    op.add_column(
        "rebalancing_fleets",
        sa.Column("unmet_demand_weight", sa.Float(), nullable=False, server_default=sa.text("0")),
    )


def downgrade() -> None:
    op.drop_column("rebalancing_fleets", "unmet_demand_weight")
    op.drop_table("unmet_searches")
