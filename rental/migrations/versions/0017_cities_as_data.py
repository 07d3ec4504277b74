"""cities as data: a city's locale, when it was launched and when it was retired

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Cities from before spoke the feeds' one language, English.
    op.add_column(
        "cities", sa.Column("locale", sa.Text, nullable=False, server_default=sa.text("'en'"))
    )
    op.add_column(
        "cities",
        sa.Column(
            "launched_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.text("now()"),
        ),
    )
    op.add_column("cities", sa.Column("retired_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    op.drop_column("cities", "retired_at")
    op.drop_column("cities", "launched_at")
    op.drop_column("cities", "locale")
