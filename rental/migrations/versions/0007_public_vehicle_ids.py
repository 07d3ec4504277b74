"""public vehicle ids, and assets by city

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 20:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "assets",
        sa.Column(
            "public_id",
            sa.Text(),
            server_default=sa.text("gen_random_uuid()::text"),
            nullable=False,
        ),
    )
    op.create_index("assets_by_city", "assets", ["city_id", "kind"], unique=False)


def downgrade() -> None:
    op.drop_index("assets_by_city", table_name="assets")
    op.drop_column("assets", "public_id")
