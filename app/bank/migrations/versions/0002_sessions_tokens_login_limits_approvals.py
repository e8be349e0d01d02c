"""Server-side sessions, API tokens, login limits per scope, and approvals of large deposits (issue 17).

staff_sessions makes a login revocable on the server; api_tokens replaces HTTP Basic for machine
clients; login_limits replaces login_throttle (counted per username only, and after bcrypt ran)
with counts per username and client, username, client and overall; approvals holds deposits above
the approval limit until a second person decides. login_throttle stays: the previous release's
tasks use it until the new ones are healthy; a later revision drops it. Like 0001, the types are
spelled out here.

Revision ID: 0002
Revises: 0001
Created: 2026-11-28
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql").with_variant(mysql.DATETIME(fsp=6), "mariadb")
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    op.create_table(
        "staff_sessions",
        sa.Column("session_hash", sa.String(64), primary_key=True),
        sa.Column("staff_id", sa.Integer(), sa.ForeignKey("staff.staff_id"), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("last_seen_at", Timestamp, nullable=False),
        sa.Column("client_hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_staff_sessions_staff_id", "staff_sessions", ["staff_id"])
    op.create_table(
        "api_tokens",
        sa.Column("token_id", sa.Integer(), primary_key=True),
        sa.Column("staff_id", sa.Integer(), sa.ForeignKey("staff.staff_id"), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("last_used_at", Timestamp, nullable=True),
        sa.Column("revoked_at", Timestamp, nullable=True),
    )
    op.create_index("ix_api_tokens_staff_id", "api_tokens", ["staff_id"])
    op.create_table(
        "login_limits",
        sa.Column("scope", sa.String(120), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_ends", Timestamp, nullable=False),
    )
    op.create_table(
        "approvals",
        sa.Column("approval_id", Id, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("acc_id", Id, sa.ForeignKey("accounts.acc_id"), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("maker_id", sa.Integer(), sa.ForeignKey("staff.staff_id"), nullable=False),
        sa.Column("checker_id", sa.Integer(), sa.ForeignKey("staff.staff_id"), nullable=True),
        sa.Column("trans_id", Id, sa.ForeignKey("transactions.trans_id"), nullable=True),
        sa.Column("idempotency_key", sa.String(255), nullable=True),
        sa.Column("request_fingerprint", sa.String(64), nullable=True),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("decided_at", Timestamp, nullable=True),
        sa.UniqueConstraint("maker_id", "idempotency_key", name="uq_approvals_idempotency"),
    )
    op.create_index("ix_approvals_acc_id", "approvals", ["acc_id"])


def downgrade():
    # Dropping a table drops its indexes (MariaDB refuses to drop one a foreign key needs first).
    for table in ("approvals", "login_limits", "api_tokens", "staff_sessions"):
        op.drop_table(table)
