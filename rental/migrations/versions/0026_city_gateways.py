"""payment gateways per city, and reconciliation runs with their differences

Revision ID: 0026
Revises: 0022
Create Date: 2026-12-01 00:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0026"
down_revision: str | None = "0023_phone_proven"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "cities",
        sa.Column(
            "payment_gateways",
            postgresql.ARRAY(sa.String(24)),
            nullable=False,
            server_default=sa.text("'{}'"),
        ),
    )
    op.add_column("cities", sa.Column("default_gateway", sa.String(24)))
    op.create_check_constraint(
        "cities_default_gateway_offered",
        "cities",
        "default_gateway IS NULL OR default_gateway = ANY(payment_gateways)",
    )
    op.create_table(
        "reconciliation_runs",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("gateway", sa.String(24), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column(
            "ran_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")
        ),
        sa.Column("statement_lines", sa.Integer(), nullable=False),
        sa.Column("differences", sa.Integer(), nullable=False),
    )
    op.create_index(
        "reconciliation_runs_by_day", "reconciliation_runs", ["gateway", sa.text("day DESC")]
    )
    op.create_table(
        "reconciliation_differences",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column(
            "run_id",
            sa.Uuid(),
            sa.ForeignKey("reconciliation_runs.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("subject", sa.String(8), nullable=False),
        sa.Column("reference", sa.String(64), nullable=False),
        sa.Column("trade_no", sa.String(64), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("ours_minor", sa.BigInteger()),
        sa.Column("theirs_minor", sa.BigInteger()),
        sa.Column("ours_state", sa.String(16)),
        sa.Column("note", sa.Text(), nullable=False),
    )
    op.create_index("reconciliation_differences_by_run", "reconciliation_differences", ["run_id"])


def downgrade() -> None:
    op.drop_table("reconciliation_differences")
    op.drop_table("reconciliation_runs")
    op.drop_constraint("cities_default_gateway_offered", "cities")
    op.drop_column("cities", "default_gateway")
    op.drop_column("cities", "payment_gateways")
