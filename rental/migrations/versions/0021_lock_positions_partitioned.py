"""lock positions partitioned by day

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-30 10:00:00.000000

Fixes arrive by the ten thousand a second and are forgotten after the retention period:
one partition per UTC day (`lock_positions_pYYYYMMDD`) is dropped whole when its day is
past the retention, where deleting the rows would rewrite the table and its indexes a
second time. lockctl makes the partitions of the coming days ahead; fixes dated outside
them (a lock whose clock is days behind) go to the DEFAULT partition, whose old rows are
deleted as before.

The primary key of a partitioned table must hold its partition key: it is now
(lock_id, boot, seq, recorded_at). A repeat of a fix carries the same time and is still
kept once; `rental.adapters.lock_log` also looks for the same (lock_id, boot, seq) a day
around a fix dated by its arrival, whose repeat would arrive at another time.

The foreign key to `locks` is gone from this table: it cost a query per fix (a fifth of
the insert), and the only writer, the telemetry use case, stores fixes of the locks
whose rows it holds in the same transaction; locks are never deleted.

The rows are copied: on a large table, run this in a quiet hour.
"""

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import geoalchemy2
import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Days of partitions made ahead of today (lockctl keeps the same lead from then on).
DAYS_AHEAD = 7
# Fixes older than this go to the DEFAULT partition rather than a partition of their day:
# the retention (90 days by default) forgets them soon anyway.
DAYS_BEHIND = 120


def upgrade() -> None:
    op.execute("ALTER TABLE lock_positions RENAME TO lock_positions_unpartitioned")
    op.execute(
        "ALTER TABLE lock_positions_unpartitioned "
        "RENAME CONSTRAINT lock_positions_pkey TO lock_positions_unpartitioned_pkey"
    )
    op.execute("ALTER INDEX lock_positions_by_time RENAME TO lock_positions_unpartitioned_by_time")
    op.execute(
        "ALTER INDEX lock_positions_by_recorded_at "
        "RENAME TO lock_positions_unpartitioned_by_recorded_at"
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
                geometry_type="POINT", srid=4326, spatial_index=False, nullable=False
            ),
            nullable=False,
        ),
        sa.Column("battery_pct", sa.Integer(), nullable=True),
        sa.Column("accuracy_m", sa.Float(), nullable=True),
        sa.Column("locked", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint(
            "lock_id", "boot", "seq", "recorded_at", name="lock_positions_pkey"
        ),
        postgresql_partition_by="RANGE (recorded_at)",
    )
    op.create_index("lock_positions_by_time", "lock_positions", ["lock_id", "recorded_at"])
    op.create_index(
        "lock_positions_by_recorded_at", "lock_positions", ["recorded_at"], postgresql_using="brin"
    )
    op.execute("CREATE TABLE lock_positions_default PARTITION OF lock_positions DEFAULT")
    today = datetime.now(UTC).date()
    oldest = op.get_bind().scalar(
        sa.text(
            "SELECT min(recorded_at AT TIME ZONE 'UTC')::date FROM lock_positions_unpartitioned"
        )
    )
    first = max(oldest or today, today - timedelta(days=DAYS_BEHIND))
    for day in _days(first, today + timedelta(days=DAYS_AHEAD)):
        op.execute(_create_partition(day))
    op.execute("INSERT INTO lock_positions SELECT * FROM lock_positions_unpartitioned")
    op.execute("DROP TABLE lock_positions_unpartitioned")


def downgrade() -> None:
    op.execute("ALTER TABLE lock_positions RENAME TO lock_positions_partitioned")
    op.execute(
        "ALTER TABLE lock_positions_partitioned "
        "RENAME CONSTRAINT lock_positions_pkey TO lock_positions_partitioned_pkey"
    )
    op.execute("ALTER INDEX lock_positions_by_time RENAME TO lock_positions_partitioned_by_time")
    op.execute(
        "ALTER INDEX lock_positions_by_recorded_at "
        "RENAME TO lock_positions_partitioned_by_recorded_at"
    )
    op.create_table(
        "lock_positions",
        sa.Column("lock_id", sa.String(length=40), sa.ForeignKey("locks.id"), nullable=False),
        sa.Column("boot", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "position",
            geoalchemy2.types.Geometry(
                geometry_type="POINT", srid=4326, spatial_index=False, nullable=False
            ),
            nullable=False,
        ),
        sa.Column("battery_pct", sa.Integer(), nullable=True),
        sa.Column("accuracy_m", sa.Float(), nullable=True),
        sa.Column("locked", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("lock_id", "boot", "seq", name="lock_positions_pkey"),
    )
    op.create_index("lock_positions_by_time", "lock_positions", ["lock_id", "recorded_at"])
    op.create_index(
        "lock_positions_by_recorded_at", "lock_positions", ["recorded_at"], postgresql_using="brin"
    )
    # A fix stored twice under two arrival times keeps its first copy.
    op.execute(
        "INSERT INTO lock_positions SELECT * FROM lock_positions_partitioned "
        "ORDER BY recorded_at ON CONFLICT DO NOTHING"
    )
    op.execute("DROP TABLE lock_positions_partitioned")


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _create_partition(day: date) -> str:
    return (
        f"CREATE TABLE lock_positions_p{day:%Y%m%d} PARTITION OF lock_positions "
        f"FOR VALUES FROM ('{day.isoformat()} 00:00:00+00') "
        f"TO ('{(day + timedelta(days=1)).isoformat()} 00:00:00+00')"
    )
