"""planning queue: a plan asked for waits queued, with its search, for a planning worker

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNDER_WAY = sa.text("state IN ('queued', 'running')")
RUNNING = sa.text("state = 'running'")
QUEUED = sa.text("state = 'queued'")


def upgrade() -> None:
    op.add_column("rebalancing_plans", sa.Column("time_limit_seconds", sa.Float()))
    op.add_column("rebalancing_plans", sa.Column("seed", sa.Integer()))
    op.add_column("rebalancing_plans", sa.Column("solution_limit", sa.Integer()))
    op.drop_constraint("rebalancing_plans_state", "rebalancing_plans", type_="check")
    op.create_check_constraint(
        "rebalancing_plans_state",
        "rebalancing_plans",
        "state IN ('queued', 'running', 'ready', 'failed')",
    )
    op.drop_index("rebalancing_one_run_per_city", "rebalancing_plans")
    op.create_index(
        "rebalancing_one_run_per_city",
        "rebalancing_plans",
        ["city_id"],
        unique=True,
        postgresql_where=UNDER_WAY,
    )
    op.create_index(
        "rebalancing_plans_queued", "rebalancing_plans", ["started_at"], postgresql_where=QUEUED
    )


def downgrade() -> None:
    # Without a queue, a plan still waiting for a worker is never made.
    op.execute(
        "UPDATE rebalancing_plans SET state = 'failed', finished_at = now(),"
        " error = 'abandoned: no planning worker took it' WHERE state = 'queued'"
    )
    op.drop_index("rebalancing_plans_queued", "rebalancing_plans")
    op.drop_index("rebalancing_one_run_per_city", "rebalancing_plans")
    op.create_index(
        "rebalancing_one_run_per_city",
        "rebalancing_plans",
        ["city_id"],
        unique=True,
        postgresql_where=RUNNING,
    )
    op.drop_constraint("rebalancing_plans_state", "rebalancing_plans", type_="check")
    op.create_check_constraint(
        "rebalancing_plans_state", "rebalancing_plans", "state IN ('running', 'ready', 'failed')"
    )
    op.drop_column("rebalancing_plans", "solution_limit")
    op.drop_column("rebalancing_plans", "seed")
    op.drop_column("rebalancing_plans", "time_limit_seconds")
