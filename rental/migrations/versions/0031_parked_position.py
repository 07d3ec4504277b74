"""locks keep a parked position for spatial searches: a riding bike's fixes move its
position, which no index covers, in place

Revision ID: 0031_parked_position
Revises: 0030_vehicle_status_rows
Create Date: 2026-12-01 11:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0031_parked_position"
down_revision: str | None = "0030_vehicle_status_rows"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every spatial search of locks asks for vehicles anyone may take, never a riding one
# (`rental.adapters.availability.in_working_order`: `locks.locked IS NOT false`). A riding
# lock reports a fix every few seconds; while an index covered `position`, each of those
# updates was a new row version with an entry in every index of `locks`, and left a dead
# row for vacuum. The searches now read `parked_position`, which PostgreSQL keeps equal to
# `position` while the latch is not reported open and NULL while it is: a riding bike's fix
# changes no indexed column, so it is a HOT update, pruned in place (docs/performance.md,
# "Telemetry ingest"). Room on each page for those updates: fillfactor 70 (the column's
# addition rewrites the table, which applies it; on a million locks, seconds, with `locks`
# held throughout: deploy/systemd runs migrations before anything else starts).
PARKED_POSITION = "CASE WHEN locked IS NOT false THEN position END"


def upgrade() -> None:
    op.execute("DROP INDEX IF EXISTS idx_locks_position")
    op.execute("DROP INDEX IF EXISTS locks_position_geography")
    op.execute("ALTER TABLE locks SET (fillfactor = 70)")
    op.execute(
        "ALTER TABLE locks ADD COLUMN parked_position geometry(Point, 4326) "
        f"GENERATED ALWAYS AS ({PARKED_POSITION}) STORED"
    )
    op.execute("CREATE INDEX locks_parked_position ON locks USING gist (parked_position)")
    op.execute(
        "CREATE INDEX locks_parked_position_geography ON locks "
        "USING gist ((parked_position::geography))"
    )


def downgrade() -> None:
    op.execute("ALTER TABLE locks DROP COLUMN parked_position")
    op.execute("ALTER TABLE locks RESET (fillfactor)")
    op.execute("CREATE INDEX idx_locks_position ON locks USING gist (position)")
    op.execute("CREATE INDEX locks_position_geography ON locks USING gist ((position::geography))")
