"""zones reservations maintenance

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 18:33:53.588802
"""

from collections.abc import Sequence

import geoalchemy2
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "zones",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("city_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("max_speed_kph", sa.Float(), nullable=True),
        sa.Column(
            "geometry",
            geoalchemy2.types.Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4326,
                dimension=2,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("kind <> 'slow' OR max_speed_kph > 0", name="zones_slow_has_speed"),
        sa.CheckConstraint(
            "kind IN ('service_area', 'no_parking', 'parking', 'slow', 'no_ride')",
            name="zones_kind",
        ),
        sa.ForeignKeyConstraint(
            ["city_id"],
            ["cities.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    # The GiST index on zones.geometry comes with the table (GeoAlchemy2).
    op.create_index("zones_by_city", "zones", ["city_id", "kind"], unique=False)
    op.create_table(
        "damage_reports",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("asset_id", sa.UUID(), nullable=False),
        sa.Column("reporter_id", sa.UUID(), nullable=False),
        sa.Column("category", sa.String(length=24), nullable=False),
        sa.Column("photo_ref", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.UUID(), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.CheckConstraint("state IN ('open', 'closed')", name="damage_reports_state"),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["assets.id"],
        ),
        sa.ForeignKeyConstraint(
            ["closed_by"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["reporter_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "damage_reports_one_open_per_reporter",
        "damage_reports",
        ["asset_id", "reporter_id"],
        unique=True,
        postgresql_where=sa.text("state = 'open'"),
    )
    op.create_index(
        "damage_reports_open",
        "damage_reports",
        ["asset_id"],
        unique=False,
        postgresql_where=sa.text("state = 'open'"),
    )
    op.create_table(
        "reservations",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("rider_id", sa.UUID(), nullable=False),
        sa.Column("asset_id", sa.UUID(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("tariff", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("fee_minor", sa.BigInteger(), nullable=True),
        sa.Column("rental_id", sa.UUID(), nullable=True),
        sa.CheckConstraint(
            "state IN ('held', 'used', 'cancelled', 'expired')", name="reservations_state"
        ),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["assets.id"],
        ),
        sa.ForeignKeyConstraint(
            ["rental_id"],
            ["rentals.id"],
        ),
        sa.ForeignKeyConstraint(
            ["rider_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "rider_id", "idempotency_key", name="reservations_rider_idempotency_key"
        ),
    )
    op.create_index(
        "reservations_held_by_expiry",
        "reservations",
        ["expires_at"],
        unique=False,
        postgresql_where=sa.text("state = 'held'"),
    )
    op.create_index(
        "reservations_one_per_asset",
        "reservations",
        ["asset_id"],
        unique=True,
        postgresql_where=sa.text("state = 'held'"),
    )
    op.create_index(
        "reservations_one_per_rider",
        "reservations",
        ["rider_id"],
        unique=True,
        postgresql_where=sa.text("state = 'held'"),
    )
    op.create_table(
        "speeding_events",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("rental_id", sa.UUID(), nullable=False),
        sa.Column("zone_id", sa.UUID(), nullable=True),
        sa.Column("zone_name", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("speed_kph", sa.Float(), nullable=False),
        sa.Column("max_speed_kph", sa.Float(), nullable=False),
        sa.Column(
            "position",
            geoalchemy2.types.Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["rental_id"],
            ["rentals.id"],
        ),
        sa.ForeignKeyConstraint(["zone_id"], ["zones.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("rental_id", "recorded_at", name="speeding_once_per_fix"),
    )
    op.add_column(
        "assets",
        sa.Column("needs_retrieval", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    op.create_index(
        "locks_position_geography",
        "locks",
        [sa.literal_column("(position::geography)")],
        unique=False,
        postgresql_using="gist",
    )
    op.add_column(
        "rentals",
        sa.Column(
            "end_position",
            geoalchemy2.types.Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=True,
        ),
    )
    op.add_column("rentals", sa.Column("parking", sa.String(length=24), nullable=True))
    op.add_column("rentals", sa.Column("parking_message", sa.Text(), nullable=True))
    op.add_column(
        "rentals",
        sa.Column(
            "out_of_zone_fee_minor", sa.BigInteger(), server_default=sa.text("0"), nullable=False
        ),
    )
    op.add_column("rentals", sa.Column("position_doubt", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("rentals", "position_doubt")
    op.drop_column("rentals", "out_of_zone_fee_minor")
    op.drop_column("rentals", "parking_message")
    op.drop_column("rentals", "parking")
    op.drop_column("rentals", "end_position")
    op.drop_index("locks_position_geography", table_name="locks", postgresql_using="gist")
    op.drop_column("assets", "needs_retrieval")
    op.drop_table("speeding_events")
    op.drop_index(
        "reservations_one_per_rider",
        table_name="reservations",
        postgresql_where=sa.text("state = 'held'"),
    )
    op.drop_index(
        "reservations_one_per_asset",
        table_name="reservations",
        postgresql_where=sa.text("state = 'held'"),
    )
    op.drop_index(
        "reservations_held_by_expiry",
        table_name="reservations",
        postgresql_where=sa.text("state = 'held'"),
    )
    op.drop_table("reservations")
    op.drop_index(
        "damage_reports_open",
        table_name="damage_reports",
        postgresql_where=sa.text("state = 'open'"),
    )
    op.drop_index(
        "damage_reports_one_open_per_reporter",
        table_name="damage_reports",
        postgresql_where=sa.text("state = 'open'"),
    )
    op.drop_table("damage_reports")
    op.drop_index("zones_by_city", table_name="zones")
    op.drop_table("zones")
