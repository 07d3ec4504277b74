"""gbfs feeds: a city's big GBFS feeds as rendered once for every API worker and host

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-30 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # UNLOGGED: a render is derived data, megabytes every few seconds. Written to the WAL it
    # would cost disk and every replica's bandwidth; after a crash the table is empty and
    # the next request renders again.
    op.create_table(
        "gbfs_feeds",
        sa.Column("city_id", sa.String(40), primary_key=True),
        sa.Column("feed", sa.String(40), primary_key=True),
        sa.Column("last_updated", sa.DateTime(timezone=True), nullable=False),
        sa.Column("etag", sa.Text, nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        prefixes=["UNLOGGED"],
    )
    # The body is gzip already: compressing it again would cost time for nothing.
    op.execute("ALTER TABLE gbfs_feeds ALTER COLUMN body SET STORAGE EXTERNAL")


def downgrade() -> None:
    op.drop_table("gbfs_feeds")
