"""vehicle status rows: each vehicle's GBFS fragment kept between renders, with the
vehicles changed since

Revision ID: 0030_vehicle_status_rows
Revises: 0029_rider_funnel
Create Date: 2026-12-01 06:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0030_vehicle_status_rows"
down_revision: str | None = "0029_rider_funnel"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What a statement changed, as (city_id, asset_id) pairs; a pair already noted has its
# version raised, so a render that read the older version does not forget the change.
NOTE_CHANGES = """
CREATE FUNCTION note_vehicle_status_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_TABLE_NAME = 'locks' THEN
    INSERT INTO vehicle_status_changes AS noted (city_id, asset_id)
    SELECT assets.city_id, assets.id
    FROM changed_rows JOIN assets ON assets.device_id = changed_rows.id
    ON CONFLICT (city_id, asset_id) DO UPDATE SET version = noted.version + 1;
  ELSIF TG_OP = 'UPDATE' THEN
    INSERT INTO vehicle_status_changes AS noted (city_id, asset_id)
    SELECT city_id, id FROM changed_rows UNION SELECT city_id, id FROM earlier_rows
    ON CONFLICT (city_id, asset_id) DO UPDATE SET version = noted.version + 1;
  ELSE
    INSERT INTO vehicle_status_changes AS noted (city_id, asset_id)
    SELECT city_id, id FROM changed_rows
    ON CONFLICT (city_id, asset_id) DO UPDATE SET version = noted.version + 1;
  END IF;
  RETURN NULL;
END
$$
"""

# Statement triggers with transition tables: a batch of 2,000 fixes updates `locks` in one
# statement and notes its vehicles in one more, not 2,000 trigger calls.
TRIGGERS = {
    "locks_update_vehicle_status": "AFTER UPDATE ON locks REFERENCING NEW TABLE AS changed_rows",
    "assets_insert_vehicle_status": "AFTER INSERT ON assets REFERENCING NEW TABLE AS changed_rows",
    "assets_update_vehicle_status": (
        "AFTER UPDATE ON assets REFERENCING NEW TABLE AS changed_rows OLD TABLE AS earlier_rows"
    ),
    "assets_delete_vehicle_status": "AFTER DELETE ON assets REFERENCING OLD TABLE AS changed_rows",
}


def upgrade() -> None:
    # UNLOGGED, like gbfs_feeds: derived data. After a crash all three are empty, the city
    # has no build and its next render builds every vehicle again.
    op.create_table(
        "vehicle_status_rows",
        sa.Column("asset_id", sa.Uuid(), primary_key=True),
        sa.Column("city_id", sa.String(40), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("fit", sa.Boolean(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True)),
        prefixes=["UNLOGGED"],
    )
    op.create_index("vehicle_status_rows_by_city", "vehicle_status_rows", ["city_id"])
    # A render rewrites a tenth of a city's rows at its peak: room on each page for the
    # new versions (updated in place, no index entry), and the dead ones vacuumed early,
    # so that the table a render reads whole stays the size of its rows.
    op.execute(
        "ALTER TABLE vehicle_status_rows"
        " SET (fillfactor = 70, autovacuum_vacuum_scale_factor = 0.05)"
    )
    op.create_table(
        "vehicle_status_changes",
        sa.Column("city_id", sa.String(40), primary_key=True),
        sa.Column("asset_id", sa.Uuid(), primary_key=True),
        sa.Column("version", sa.BigInteger(), nullable=False, server_default="1"),
        prefixes=["UNLOGGED"],
    )
    op.create_table(
        "vehicle_status_builds",
        sa.Column("city_id", sa.String(40), primary_key=True),
        sa.Column("rules", sa.Text(), nullable=False),
        prefixes=["UNLOGGED"],
    )
    op.execute(NOTE_CHANGES)
    # Vehicles there already are built by their city's first render.
    for name, when in TRIGGERS.items():
        op.execute(
            f"CREATE TRIGGER {name} {when} FOR EACH STATEMENT"
            " EXECUTE FUNCTION note_vehicle_status_changes()"
        )


def downgrade() -> None:
    for name, when in TRIGGERS.items():
        table = when.split(" ON ")[1].split()[0]
        op.execute(f"DROP TRIGGER {name} ON {table}")
    op.execute("DROP FUNCTION note_vehicle_status_changes()")
    op.drop_table("vehicle_status_builds")
    op.drop_table("vehicle_status_changes")
    op.drop_table("vehicle_status_rows")
