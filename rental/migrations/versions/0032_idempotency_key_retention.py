"""idempotency keys are forgotten after their retention: an index by age for the sweeper

Revision ID: 0032_idempotency_key_retention
Revises: 0031_parked_position
Create Date: 2026-12-01 22:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0032_idempotency_key_retention"
down_revision: str | None = "0031_parked_position"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# One row per scan, hold and payment request, kept forever until now: a city's year of
# rides is tens of millions. Built without blocking the scans that insert into the table
# (CONCURRENTLY, which cannot run inside the migration's transaction).


def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.execute(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS idempotency_keys_by_age "
            "ON idempotency_keys (created_at)"
        )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.execute("DROP INDEX CONCURRENTLY IF EXISTS idempotency_keys_by_age")
