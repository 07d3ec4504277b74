"""the rider funnel: marks per visit, step and reason on a city's day

Revision ID: 0029_rider_funnel
Revises: 0028_damage_photos
Create Date: 2026-12-01 03:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0029_rider_funnel"
down_revision: str | None = "0028_damage_photos"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "funnel_marks",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("city_id", sa.String(40), sa.ForeignKey("cities.id"), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("step", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(40), nullable=False, server_default=""),
        sa.Column("visit_id", sa.Uuid()),
        sa.Column("rental_id", sa.Uuid()),
    )
    op.create_index("funnel_marks_by_city_day", "funnel_marks", ["city_id", "day"])
    op.create_index("funnel_marks_by_day", "funnel_marks", ["day"], postgresql_using="brin")
    op.create_index(
        "funnel_marks_app_once",
        "funnel_marks",
        ["visit_id", "city_id", "day", "step", "reason"],
        unique=True,
        postgresql_where=sa.text("visit_id IS NOT NULL AND rental_id IS NULL"),
    )
    op.create_index(
        "funnel_marks_scans",
        "funnel_marks",
        ["rental_id"],
        postgresql_where=sa.text("rental_id IS NOT NULL AND step = 'scan'"),
    )


def downgrade() -> None:
    op.drop_table("funnel_marks")
