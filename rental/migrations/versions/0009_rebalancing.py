"""rebalancing fleets, plans and stops

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 23:00:00.000000
"""

from collections.abc import Sequence

import geoalchemy2
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

POINT = geoalchemy2.types.Geometry(geometry_type="POINT", srid=4326, spatial_index=False)
NOW = sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "rebalancing_fleets",
        sa.Column("city_id", sa.String(40), sa.ForeignKey("cities.id"), primary_key=True),
        sa.Column("depot", POINT, nullable=False),
        sa.Column("trucks", postgresql.JSONB(), nullable=False),
        sa.Column("speed_kph", sa.Float(), nullable=False),
        sa.Column("nightly_hour", sa.Integer(), nullable=False),
        sa.Column("time_limit_seconds", sa.Integer(), nullable=False),
        sa.Column("depot_stock", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
    )
    op.create_table(
        "rebalancing_plans",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("city_id", sa.String(40), sa.ForeignKey("cities.id"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("summary", postgresql.JSONB()),
        sa.Column("error", sa.Text()),
        sa.CheckConstraint(
            "state IN ('running', 'ready', 'failed')", name="rebalancing_plans_state"
        ),
        sa.UniqueConstraint("city_id", "version", name="rebalancing_plans_version"),
    )
    op.create_index(
        "rebalancing_one_run_per_city",
        "rebalancing_plans",
        ["city_id"],
        unique=True,
        postgresql_where=sa.text("state = 'running'"),
    )
    op.create_table(
        "rebalancing_stops",
        sa.Column(
            "plan_id",
            postgresql.UUID(as_uuid=True),
            sa.ForeignKey("rebalancing_plans.id"),
            nullable=False,
        ),
        sa.Column("truck", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("site", sa.Text(), nullable=False),
        sa.Column("position", POINT, nullable=False),
        sa.Column("bikes", sa.Integer(), nullable=False),
        sa.Column("asset_ids", postgresql.ARRAY(postgresql.UUID(as_uuid=True)), nullable=False),
        sa.Column("metres_from_previous", sa.Integer(), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("plan_id", "truck", "seq", name="rebalancing_stops_pkey"),
    )


def downgrade() -> None:
    op.drop_table("rebalancing_stops")
    op.drop_index("rebalancing_one_run_per_city", table_name="rebalancing_plans")
    op.drop_table("rebalancing_plans")
    op.drop_table("rebalancing_fleets")
