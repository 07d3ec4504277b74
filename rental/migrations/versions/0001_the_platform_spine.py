"""the platform spine

Revision ID: 0001
Revises:
Create Date: 2026-11-23 01:51:19.441937
"""

from collections.abc import Sequence

import geoalchemy2
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("owner_id", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("balance_minor", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "currency", "owner_id", name="accounts_kind_currency_owner"),
    )
    op.create_table(
        "cities",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("timezone", sa.Text(), nullable=False),
        sa.Column(
            "center",
            geoalchemy2.types.Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "ledger_transactions",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("reference", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("reference"),
    )
    op.create_table(
        "locks",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("signing_key", sa.LargeBinary(), nullable=False),
        sa.Column("online", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("boot", sa.BigInteger(), nullable=True),
        sa.Column("locked", sa.Boolean(), nullable=True),
        sa.Column("battery_pct", sa.Integer(), nullable=True),
        sa.Column(
            "position",
            geoalchemy2.types.Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=True,
        ),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("phone", sa.String(length=16), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("role IN ('rider', 'operator')", name="users_role"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("phone"),
    )
    op.create_table(
        "assets",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("city_id", sa.String(length=40), nullable=False),
        sa.Column("lock_id", sa.String(length=40), nullable=False),
        sa.Column("in_service", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["city_id"],
            ["cities.id"],
        ),
        sa.ForeignKeyConstraint(
            ["lock_id"],
            ["locks.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
        sa.UniqueConstraint("lock_id"),
    )
    op.create_table(
        "lock_events",
        sa.Column("lock_id", sa.String(length=40), nullable=False),
        sa.Column("boot", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("cmd_id", sa.String(length=64), nullable=True),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("lock_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["lock_id"],
            ["locks.id"],
        ),
        sa.PrimaryKeyConstraint("lock_id", "boot", "seq", name="lock_events_pkey"),
    )
    op.create_table(
        "lock_positions",
        sa.Column("lock_id", sa.String(length=40), nullable=False),
        sa.Column("boot", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
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
        sa.Column("battery_pct", sa.Integer(), nullable=True),
        sa.Column("accuracy_m", sa.Float(), nullable=True),
        sa.Column("locked", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["lock_id"],
            ["locks.id"],
        ),
        sa.PrimaryKeyConstraint("lock_id", "boot", "seq", name="lock_positions_pkey"),
    )
    op.create_index(
        "lock_positions_by_time", "lock_positions", ["lock_id", "recorded_at"], unique=False
    )
    op.create_table(
        "postings",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("transaction_id", sa.UUID(), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["ledger_transactions.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("postings_by_account", "postings", ["account_id"], unique=False)
    op.create_table(
        "rentals",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("rider_id", sa.UUID(), nullable=False),
        sa.Column("asset_id", sa.UUID(), nullable=False),
        sa.Column("lock_id", sa.String(length=40), nullable=False),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("failure_reason", sa.String(length=32), nullable=True),
        sa.Column("tariff", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("unlock_command_id", sa.UUID(), nullable=True),
        sa.Column("unlock_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("fare_minor", sa.BigInteger(), nullable=True),
        sa.Column("distance_m", sa.Float(), nullable=True),
        sa.Column(
            "trace",
            geoalchemy2.types.Geometry(
                geometry_type="LINESTRING",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=True,
        ),
        sa.CheckConstraint(
            "state IN ('unlocking', 'active', 'ended', 'failed')", name="rentals_state"
        ),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["assets.id"],
        ),
        sa.ForeignKeyConstraint(
            ["lock_id"],
            ["locks.id"],
        ),
        sa.ForeignKeyConstraint(
            ["rider_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("rider_id", "idempotency_key", name="rentals_rider_idempotency_key"),
    )
    op.create_index("rentals_by_rider", "rentals", ["rider_id", "requested_at"], unique=False)
    op.create_index(
        "rentals_unlocking_by_expiry",
        "rentals",
        ["unlock_expires_at"],
        unique=False,
        postgresql_where=sa.text("state = 'unlocking'"),
    )
    op.create_index(
        "rentals_one_open_per_asset",
        "rentals",
        ["asset_id"],
        unique=True,
        postgresql_where=sa.text("state IN ('unlocking', 'active')"),
    )
    op.create_index(
        "rentals_one_open_per_rider",
        "rentals",
        ["rider_id"],
        unique=True,
        postgresql_where=sa.text("state IN ('unlocking', 'active')"),
    )
    op.create_index(
        "rentals_open_per_lock",
        "rentals",
        ["lock_id"],
        unique=False,
        postgresql_where=sa.text("state IN ('unlocking', 'active')"),
    )


def downgrade() -> None:
    op.drop_index(
        "rentals_open_per_lock",
        table_name="rentals",
        postgresql_where=sa.text("state IN ('unlocking', 'active')"),
    )
    op.drop_index(
        "rentals_one_open_per_rider",
        table_name="rentals",
        postgresql_where=sa.text("state IN ('unlocking', 'active')"),
    )
    op.drop_index(
        "rentals_one_open_per_asset",
        table_name="rentals",
        postgresql_where=sa.text("state IN ('unlocking', 'active')"),
    )
    op.drop_index("rentals_unlocking_by_expiry", table_name="rentals")
    op.drop_index("rentals_by_rider", table_name="rentals")
    op.drop_table("rentals")
    op.drop_index("postings_by_account", table_name="postings")
    op.drop_table("postings")
    op.drop_index("lock_positions_by_time", table_name="lock_positions")
    op.drop_table("lock_positions")
    op.drop_table("lock_events")
    op.drop_table("assets")
    op.drop_table("users")
    op.drop_table("locks")
    op.drop_table("ledger_transactions")
    op.drop_table("cities")
    op.drop_table("accounts")
