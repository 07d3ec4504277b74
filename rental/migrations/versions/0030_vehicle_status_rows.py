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

# What a statement changed, as (city_id, asset_id) pairs, in their order (two statements
# noting the same vehicles never wait for each other crosswise). A pair already noted takes
# a new version, from a sequence: a version is never seen twice, so a render forgets only
# the very notes it read (a counter would start again at 1 after a note was forgotten).
NOTE_CHANGES = """
CREATE FUNCTION note_vehicle_status_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_TABLE_NAME = 'locks' THEN
    INSERT INTO vehicle_status_changes AS noted (city_id, asset_id)
    SELECT assets.city_id, assets.id
    FROM changed_rows JOIN assets ON assets.device_id = changed_rows.id
    ORDER BY 1, 2
    ON CONFLICT (city_id, asset_id) DO UPDATE SET version = excluded.version;
    RETURN NULL;
  END IF;
  -- A vehicle given a lock: wait for whoever is writing that lock (a telemetry batch,
  -- whose own notes could not see this vehicle on it yet), so that this note comes after.
  IF TG_OP = 'INSERT' THEN
    PERFORM 1 FROM locks WHERE id IN (SELECT device_id FROM changed_rows)
    ORDER BY id FOR NO KEY UPDATE;
  ELSIF TG_OP = 'UPDATE' THEN
    PERFORM 1 FROM locks WHERE id IN (
      SELECT changed_rows.device_id FROM changed_rows JOIN earlier_rows USING (id)
      WHERE changed_rows.device_id IS DISTINCT FROM earlier_rows.device_id
    )
    ORDER BY id FOR NO KEY UPDATE;
  END IF;
  IF TG_OP = 'UPDATE' THEN
    INSERT INTO vehicle_status_changes AS noted (city_id, asset_id)
    SELECT city_id, id FROM changed_rows UNION SELECT city_id, id FROM earlier_rows
    ORDER BY 1, 2
    ON CONFLICT (city_id, asset_id) DO UPDATE SET version = excluded.version;
  ELSE
    INSERT INTO vehicle_status_changes AS noted (city_id, asset_id)
    SELECT city_id, id FROM changed_rows ORDER BY 1, 2
    ON CONFLICT (city_id, asset_id) DO UPDATE SET version = excluded.version;
  END IF;
  RETURN NULL;
END
$$
"""

# TRUNCATE fires no row or statement trigger of the above: every city is built again.
FORGET_BUILDS = """
CREATE FUNCTION forget_vehicle_status_builds() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM vehicle_status_builds;
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
TRUNCATE_TRIGGERS = {
    "locks_truncate_vehicle_status": "locks",
    "assets_truncate_vehicle_status": "assets",
}


def upgrade() -> None:
    # UNLOGGED, like gbfs_feeds: derived data. After a crash all three are empty, the city
    # has no build and its next render builds every vehicle again.
    op.create_table(
        "vehicle_status_rows",
        sa.Column("city_id", sa.String(40), primary_key=True),
        sa.Column("asset_id", sa.Uuid(), primary_key=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("fit", sa.Boolean(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True)),
        prefixes=["UNLOGGED"],
    )
    # A render rewrites a tenth of a city's rows at its peak: room on each page for the
    # new versions (updated in place, no index entry), and the dead ones vacuumed early,
    # so that the table a render reads whole stays the size of its rows.
    op.execute(
        "ALTER TABLE vehicle_status_rows"
        " SET (fillfactor = 70, autovacuum_vacuum_scale_factor = 0.05)"
    )
    op.execute("CREATE UNLOGGED SEQUENCE vehicle_status_change_versions")
    op.create_table(
        "vehicle_status_changes",
        sa.Column("city_id", sa.String(40), primary_key=True),
        sa.Column("asset_id", sa.Uuid(), primary_key=True),
        sa.Column(
            "version",
            sa.BigInteger(),
            nullable=False,
            server_default=sa.text("nextval('vehicle_status_change_versions')"),
        ),
        prefixes=["UNLOGGED"],
    )
    op.create_table(
        "vehicle_status_builds",
        sa.Column("city_id", sa.String(40), primary_key=True),
        sa.Column("rules", sa.Text(), nullable=False),
        prefixes=["UNLOGGED"],
    )
    op.execute(NOTE_CHANGES)
    op.execute(FORGET_BUILDS)
    # Vehicles there already are built by their city's first render.
    for name, when in TRIGGERS.items():
        op.execute(
            f"CREATE TRIGGER {name} {when} FOR EACH STATEMENT"
            " EXECUTE FUNCTION note_vehicle_status_changes()"
        )
    for name, table in TRUNCATE_TRIGGERS.items():
        op.execute(
            f"CREATE TRIGGER {name} AFTER TRUNCATE ON {table} FOR EACH STATEMENT"
            " EXECUTE FUNCTION forget_vehicle_status_builds()"
        )


def downgrade() -> None:
    for name, table in TRUNCATE_TRIGGERS.items():
        op.execute(f"DROP TRIGGER {name} ON {table}")
    for name, when in TRIGGERS.items():
        table = when.split(" ON ")[1].split()[0]
        op.execute(f"DROP TRIGGER {name} ON {table}")
    op.execute("DROP FUNCTION forget_vehicle_status_builds()")
    op.execute("DROP FUNCTION note_vehicle_status_changes()")
    op.drop_table("vehicle_status_builds")
    op.drop_table("vehicle_status_changes")
    op.execute("DROP SEQUENCE vehicle_status_change_versions")
    op.drop_table("vehicle_status_rows")
