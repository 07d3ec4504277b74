"""damage photos: the pictures riders take of damage, stored by the platform

Revision ID: 0028_damage_photos
Revises: 0027_unmet_demand
Create Date: 2026-12-01 03:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028_damage_photos"
down_revision: str | None = "0027_unmet_demand"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "damage_photos",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("uploader_id", sa.Uuid(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("content_type", sa.String(16), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.text("now()"),
        ),
        sa.CheckConstraint(
            "content_type IN ('image/jpeg', 'image/png', 'image/webp')",
            name="damage_photos_content_type",
        ),
    )
    op.create_index("damage_photos_by_uploader", "damage_photos", ["uploader_id", "created_at"])


def downgrade() -> None:
    op.drop_index("damage_photos_by_uploader", table_name="damage_photos")
    op.drop_table("damage_photos")
