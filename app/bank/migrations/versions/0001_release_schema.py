"""The schema of the release before migrations (what `init-db` made with create_all).

A database made by that release has these tables and no alembic_version: bank.migrate stamps it
with this revision instead of running it. The types are spelled out here, not imported from
bank.models, so this revision keeps meaning what it meant when the models move on.

Revision ID: 0001
Revises:
Created: 2026-11-01
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

FIRST_CUSTOMER_ID = 110110000
FIRST_ACCOUNT_ID = 360110000

# Microseconds on MariaDB; SQLite's AUTOINCREMENT needs INTEGER PRIMARY KEY.
Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql").with_variant(mysql.DATETIME(fsp=6), "mariadb")
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    op.create_table(
        "staff",
        sa.Column("staff_id", sa.Integer(), primary_key=True),
        sa.Column("username", sa.String(40), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(60), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
    )
    op.create_table(
        "login_throttle",
        sa.Column("username", sa.String(40), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", Timestamp, nullable=True),
    )
    op.create_table(
        "customers",
        sa.Column("cust_id", Id, primary_key=True, autoincrement=True),
        sa.Column("ssn_id", sa.String(9), nullable=False, unique=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("address", sa.String(200), nullable=False),
        sa.Column("age", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(60), nullable=False),
        sa.Column("city", sa.String(60), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("last_update", Timestamp, nullable=False),
        mysql_auto_increment=str(FIRST_CUSTOMER_ID),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "customer_log",
        sa.Column("log_id", Id, primary_key=True, autoincrement=True),
        sa.Column("cust_id", Id, nullable=False, index=True),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("message", sa.String(300), nullable=False),
        sa.Column("staff", sa.String(40), nullable=False),
        sa.Column("time_stamp", Timestamp, nullable=False),
    )
    op.create_table(
        "account_log",
        sa.Column("log_id", Id, primary_key=True, autoincrement=True),
        sa.Column("acc_id", Id, nullable=False, index=True),
        sa.Column("cust_id", Id, nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("message", sa.String(300), nullable=False),
        sa.Column("staff", sa.String(40), nullable=False),
        sa.Column("time_stamp", Timestamp, nullable=False),
    )
    op.create_table(
        "accounts",
        sa.Column("acc_id", Id, primary_key=True, autoincrement=True),
        sa.Column("cust_id", Id, sa.ForeignKey("customers.cust_id"), nullable=False, index=True),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("balance_cents", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("message", sa.String(200), nullable=False),
        sa.Column("last_update", Timestamp, nullable=False),
        sa.CheckConstraint("balance_cents >= 0", name="ck_accounts_balance_not_negative"),
        mysql_auto_increment=str(FIRST_ACCOUNT_ID),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "transfers",
        sa.Column("transfer_id", Id, primary_key=True, autoincrement=True),
        sa.Column("from_acc_id", Id, sa.ForeignKey("accounts.acc_id"), nullable=False),
        sa.Column("to_acc_id", Id, sa.ForeignKey("accounts.acc_id"), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("staff_id", sa.Integer(), sa.ForeignKey("staff.staff_id"), nullable=False),
        sa.Column("idempotency_key", sa.String(255), nullable=True),
        sa.Column("request_fingerprint", sa.String(64), nullable=True),
        sa.Column("time_stamp", Timestamp, nullable=False),
        sa.UniqueConstraint("staff_id", "idempotency_key", name="uq_transfers_idempotency"),
    )
    op.create_table(
        "transactions",
        sa.Column("trans_id", Id, primary_key=True, autoincrement=True),
        sa.Column("acc_id", Id, sa.ForeignKey("accounts.acc_id"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("balance_after_cents", sa.BigInteger(), nullable=False),
        sa.Column("transfer_id", Id, sa.ForeignKey("transfers.transfer_id"), nullable=True),
        sa.Column("counterparty_acc_id", Id, nullable=True),
        sa.Column("message", sa.String(200), nullable=False),
        sa.Column("staff_id", sa.Integer(), sa.ForeignKey("staff.staff_id"), nullable=True),
        sa.Column("idempotency_key", sa.String(255), nullable=True),
        sa.Column("request_fingerprint", sa.String(64), nullable=True),
        sa.Column("time_stamp", Timestamp, nullable=False),
        sa.UniqueConstraint("staff_id", "idempotency_key", name="uq_transactions_idempotency"),
    )
    # In create_all's order, so that a migrated database and an adopted one are the same.
    op.create_index("ix_transactions_account_time", "transactions", ["acc_id", "time_stamp"])
    op.create_index("ix_transactions_transfer_id", "transactions", ["transfer_id"])
    if op.get_bind().dialect.name == "sqlite":
        # The bank's numbering starts at these ids (MariaDB: the tables' AUTO_INCREMENT above).
        op.execute(sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES "
                           f"('customers', {FIRST_CUSTOMER_ID - 1}), ('accounts', {FIRST_ACCOUNT_ID - 1})"))


def downgrade():
    for table in ("transactions", "transfers", "accounts", "account_log", "customer_log", "customers",
                  "login_throttle", "staff"):
        op.drop_table(table)
