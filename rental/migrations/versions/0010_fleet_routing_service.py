"""a fleet's road-routing service

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-24 01:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("rebalancing_fleets", sa.Column("routing_url", sa.String(500)))


def downgrade() -> None:
    op.drop_column("rebalancing_fleets", "routing_url")
