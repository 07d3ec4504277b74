"""the spatial indexes on locks hold parked vehicles only: a riding bike's fixes move its
lock's position without touching them

Revision ID: 0031_parked_vehicle_indexes
Revises: 0030_vehicle_status_rows
Create Date: 2026-12-01 11:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0031_parked_vehicle_indexes"
down_revision: str | None = "0030_vehicle_status_rows"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every spatial search of locks asks for vehicles anyone may take
# (`rental.adapters.availability.in_working_order`: `locks.locked IS NOT false`), so an
# index of the others is never read. A riding lock reports its latch open and a fix every
# few seconds: its row's update then adds no entry to either GiST index, the largest part
# of what PostgreSQL spent per fix (docs/performance.md, "Telemetry ingest"). The
# predicate is written as the searches write it, so the planner proves they imply it.
PARKED = "locked IS NOT false"
INDEXES = {
    "idx_locks_position": "position",
    "locks_position_geography": "(position::geography)",
}


def upgrade() -> None:
    for name, expression in INDEXES.items():
        op.execute(f"DROP INDEX {name}")
        op.execute(f"CREATE INDEX {name} ON locks USING gist ({expression}) WHERE {PARKED}")


def downgrade() -> None:
    for name, expression in INDEXES.items():
        op.execute(f"DROP INDEX {name}")
        op.execute(f"CREATE INDEX {name} ON locks USING gist ({expression})")
