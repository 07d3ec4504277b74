"""asset holding device

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 19:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "assets",
        sa.Column(
            "device_id",
            sa.String(length=40),
            sa.Computed("coalesce(lock_id, cabinet_id)", persisted=True),
            nullable=True,
        ),
    )
    op.create_index("assets_by_device", "assets", ["device_id"], unique=False)


def downgrade() -> None:
    op.drop_index("assets_by_device", table_name="assets")
    op.drop_column("assets", "device_id")
