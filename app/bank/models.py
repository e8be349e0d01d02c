"""The bank's tables. Money columns hold integer cents; timestamps are naive UTC."""
from datetime import datetime, timezone

from sqlalchemy import BigInteger, CheckConstraint, DateTime, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.dialects import mysql

from .database import db

ROLES = ("executive", "teller", "cashier")
ACCOUNT_TYPES = ("savings", "current")
FIRST_CUSTOMER_ID = 110110000
FIRST_ACCOUNT_ID = 360110000

# Microseconds on MariaDB too, so a statement's order and date ranges are exact.
Timestamp = DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql").with_variant(mysql.DATETIME(fsp=6), "mariadb")
Id = BigInteger().with_variant(Integer(), "sqlite")  # SQLite's AUTOINCREMENT needs INTEGER PRIMARY KEY


def utcnow():
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Staff(db.Model):
    __tablename__ = "staff"
    staff_id = db.Column(Integer, primary_key=True)
    username = db.Column(String(40), unique=True, nullable=False)
    password_hash = db.Column(String(60), nullable=False)
    role = db.Column(String(16), nullable=False)
    active = db.Column(db.Boolean, nullable=False, default=True)
    created_at = db.Column(Timestamp, nullable=False, default=utcnow)

    # Flask-Login's user protocol
    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self):
        return self.active

    def get_id(self):
        return str(self.staff_id)


class LoginThrottle(db.Model):
    """Consecutive failed logins per username, known or not, so a lockout reveals nothing."""

    __tablename__ = "login_throttle"
    username = db.Column(String(40), primary_key=True)
    failures = db.Column(Integer, nullable=False, default=0)
    locked_until = db.Column(Timestamp, nullable=True)


class Customer(db.Model):
    __tablename__ = "customers"
    __table_args__ = {"mysql_auto_increment": str(FIRST_CUSTOMER_ID), "sqlite_autoincrement": True}
    cust_id = db.Column(Id, primary_key=True, autoincrement=True)
    ssn_id = db.Column(String(9), unique=True, nullable=False)
    name = db.Column(String(100), nullable=False)
    address = db.Column(String(200), nullable=False)
    age = db.Column(Integer, nullable=False)
    state = db.Column(String(60), nullable=False)
    city = db.Column(String(60), nullable=False)
    status = db.Column(String(16), nullable=False, default="active")
    created_at = db.Column(Timestamp, nullable=False, default=utcnow)
    last_update = db.Column(Timestamp, nullable=False, default=utcnow)
    accounts = db.relationship("Account", back_populates="customer", order_by="Account.acc_id")


class Account(db.Model):
    __tablename__ = "accounts"
    __table_args__ = (
        CheckConstraint("balance_cents >= 0", name="ck_accounts_balance_not_negative"),
        {"mysql_auto_increment": str(FIRST_ACCOUNT_ID), "sqlite_autoincrement": True},
    )
    acc_id = db.Column(Id, primary_key=True, autoincrement=True)
    cust_id = db.Column(Id, db.ForeignKey("customers.cust_id"), nullable=False, index=True)
    type = db.Column(String(16), nullable=False)
    balance_cents = db.Column(BigInteger, nullable=False, default=0)
    status = db.Column(String(16), nullable=False, default="active")
    message = db.Column(String(200), nullable=False, default="")
    last_update = db.Column(Timestamp, nullable=False, default=utcnow)
    customer = db.relationship("Customer", back_populates="accounts")


class Transfer(db.Model):
    """One movement between two accounts; its Idempotency-Key (per staff user) makes a retry safe."""

    __tablename__ = "transfers"
    __table_args__ = (UniqueConstraint("staff_id", "idempotency_key", name="uq_transfers_idempotency"),)
    transfer_id = db.Column(Id, primary_key=True, autoincrement=True)
    from_acc_id = db.Column(Id, db.ForeignKey("accounts.acc_id"), nullable=False)
    to_acc_id = db.Column(Id, db.ForeignKey("accounts.acc_id"), nullable=False)
    amount_cents = db.Column(BigInteger, nullable=False)
    staff_id = db.Column(Integer, db.ForeignKey("staff.staff_id"), nullable=False)
    idempotency_key = db.Column(String(255), nullable=True)
    request_fingerprint = db.Column(String(64), nullable=True)
    time_stamp = db.Column(Timestamp, nullable=False, default=utcnow)


class Transaction(db.Model):
    """One row per change of one account's balance; amount is signed (credit > 0 > debit)."""

    __tablename__ = "transactions"
    __table_args__ = (
        Index("ix_transactions_account_time", "acc_id", "time_stamp"),
        UniqueConstraint("staff_id", "idempotency_key", name="uq_transactions_idempotency"),
    )
    trans_id = db.Column(Id, primary_key=True, autoincrement=True)
    acc_id = db.Column(Id, db.ForeignKey("accounts.acc_id"), nullable=False)
    kind = db.Column(String(16), nullable=False)  # opening, deposit, withdrawal, transfer_in, transfer_out
    amount_cents = db.Column(BigInteger, nullable=False)
    balance_after_cents = db.Column(BigInteger, nullable=False)
    transfer_id = db.Column(Id, db.ForeignKey("transfers.transfer_id"), nullable=True, index=True)
    counterparty_acc_id = db.Column(Id, nullable=True)
    message = db.Column(String(200), nullable=False, default="")
    staff_id = db.Column(Integer, db.ForeignKey("staff.staff_id"), nullable=True)
    # Set on deposits and withdrawals sent with an Idempotency-Key (transfers keep theirs on Transfer).
    idempotency_key = db.Column(String(255), nullable=True)
    request_fingerprint = db.Column(String(64), nullable=True)
    time_stamp = db.Column(Timestamp, nullable=False, default=utcnow)


class CustomerLog(db.Model):
    __tablename__ = "customer_log"
    log_id = db.Column(Id, primary_key=True, autoincrement=True)
    cust_id = db.Column(Id, nullable=False, index=True)
    action = db.Column(String(16), nullable=False)  # created, updated, deactivated, activated
    message = db.Column(String(300), nullable=False)
    staff = db.Column(String(40), nullable=False)
    time_stamp = db.Column(Timestamp, nullable=False, default=utcnow)


class AccountLog(db.Model):
    __tablename__ = "account_log"
    log_id = db.Column(Id, primary_key=True, autoincrement=True)
    acc_id = db.Column(Id, nullable=False, index=True)
    cust_id = db.Column(Id, nullable=False)
    action = db.Column(String(16), nullable=False)  # opened, closed, activated
    status = db.Column(String(16), nullable=False)
    message = db.Column(String(300), nullable=False)
    staff = db.Column(String(40), nullable=False)
    time_stamp = db.Column(Timestamp, nullable=False, default=utcnow)


def init_schema():
    """Create missing tables and make ids start where the bank's numbering starts. Idempotent."""
    db.create_all()
    if db.engine.dialect.name == "sqlite":
        with db.engine.begin() as connection:
            for table, first in (("customers", FIRST_CUSTOMER_ID), ("accounts", FIRST_ACCOUNT_ID)):
                connection.execute(
                    text(
                        "INSERT INTO sqlite_sequence (name, seq) SELECT :table, :seq "
                        "WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = :table)"
                    ),
                    {"table": table, "seq": first - 1},
                )
