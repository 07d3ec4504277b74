"""vehicle events and MDS clients

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 22:00:00.000000
"""

from collections.abc import Sequence

import geoalchemy2
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "vehicle_events",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("asset_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("city_id", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "recorded_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "position",
            geoalchemy2.types.Geometry(geometry_type="POINT", srid=4326, spatial_index=False),
            nullable=False,
        ),
        sa.Column("battery_pct", sa.Integer()),
        sa.Column("rental_id", postgresql.UUID(as_uuid=True)),
        sa.ForeignKeyConstraint(["asset_id"], ["assets.id"]),
        sa.ForeignKeyConstraint(["city_id"], ["cities.id"]),
        sa.ForeignKeyConstraint(["rental_id"], ["rentals.id"]),
    )
    op.create_index("vehicle_events_by_city", "vehicle_events", ["city_id", "at", "id"])
    op.create_index("vehicle_events_by_asset", "vehicle_events", ["asset_id", "at"])
    op.create_table(
        "mds_clients",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("city_id", sa.String(40), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        sa.ForeignKeyConstraint(["city_id"], ["cities.id"]),
    )
    # MDS reads a city's telemetry by the hour; positions arrive in time order, so a BRIN
    # index answers that for almost nothing on the insert path.
    op.create_index(
        "lock_positions_by_recorded_at",
        "lock_positions",
        ["recorded_at"],
        postgresql_using="brin",
    )
    # ... and, for each fix, the ride it belongs to.
    op.create_index("rentals_by_lock", "rentals", ["lock_id", "started_at"])


def downgrade() -> None:
    op.drop_index("rentals_by_lock", table_name="rentals")
    op.drop_index("lock_positions_by_recorded_at", table_name="lock_positions")
    op.drop_table("mds_clients")
    op.drop_index("vehicle_events_by_asset", table_name="vehicle_events")
    op.drop_index("vehicle_events_by_city", table_name="vehicle_events")
    op.drop_table("vehicle_events")
