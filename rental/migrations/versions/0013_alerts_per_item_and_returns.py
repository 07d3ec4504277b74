"""an open alert per kind, device and asset (two items misplaced in one cabinet are two
alerts); item returns found by item code

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 11:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NO_ASSET = "'00000000-0000-0000-0000-000000000000'::uuid"


def upgrade() -> None:
    op.drop_index("alerts_one_open_per_kind_and_lock", "alerts")
    op.create_index(
        "alerts_one_open_per_kind_lock_and_asset",
        "alerts",
        ["kind", "lock_id", sa.text(f"coalesce(asset_id, {NO_ASSET})")],
        unique=True,
        postgresql_where=sa.text("resolved_at IS NULL"),
    )
    op.create_index(
        "lock_events_returns_by_item",
        "lock_events",
        [sa.text("(payload->>'item')"), "lock_time"],
        postgresql_where=sa.text("type = 'returned'"),
    )


def downgrade() -> None:
    op.drop_index("lock_events_returns_by_item", "lock_events")
    op.drop_index("alerts_one_open_per_kind_lock_and_asset", "alerts")
    op.create_index(
        "alerts_one_open_per_kind_and_lock",
        "alerts",
        ["kind", "lock_id"],
        unique=True,
        postgresql_where=sa.text("resolved_at IS NULL"),
    )
