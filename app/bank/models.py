"""The bank's tables. Money columns hold integer cents; timestamps are naive UTC. The schema itself is
made and changed only by the migrations in bank/migrations (bank.migrate): a change here needs one."""
from datetime import datetime, timezone

from sqlalchemy import BigInteger, CheckConstraint, DateTime, Index, Integer, String, UniqueConstraint
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

    # Flask-Login's user protocol. The id it keeps in the cookie is the server-side session's token
    # (set when the session is started or loaded), never the staff id, so a session can be revoked.
    is_authenticated = True
    is_anonymous = False
    session_token = None

    @property
    def is_active(self):
        return self.active

    def get_id(self):
        if self.session_token is None:
            raise RuntimeError("a staff user is logged in only through credentials.start_session")
        return self.session_token


class LoginThrottle(db.Model):
    """The release before revision 0002 counted failed logins here, per username. Unused since
    (see LoginLimit); kept so that release's tasks keep working while a new release starts, and
    dropped by a later revision."""

    __tablename__ = "login_throttle"
    username = db.Column(String(40), primary_key=True)
    failures = db.Column(Integer, nullable=False, default=0)
    locked_until = db.Column(Timestamp, nullable=True)


class StaffSession(db.Model):
    """A logged-in browser. The cookie holds a random token; only its SHA-256 is kept here, so
    deleting the row ends the session wherever the cookie has gone."""

    __tablename__ = "staff_sessions"
    session_hash = db.Column(String(64), primary_key=True)
    staff_id = db.Column(Integer, db.ForeignKey("staff.staff_id"), nullable=False, index=True)
    created_at = db.Column(Timestamp, nullable=False, default=utcnow)
    last_seen_at = db.Column(Timestamp, nullable=False, default=utcnow)
    # The client the session was started from: a cookie presented by another one is refused.
    client_hash = db.Column(String(64), nullable=False)


class ApiToken(db.Model):
    """A machine client's credential for the API; only its SHA-256 is kept."""

    __tablename__ = "api_tokens"
    token_id = db.Column(Integer, primary_key=True)
    staff_id = db.Column(Integer, db.ForeignKey("staff.staff_id"), nullable=False, index=True)
    name = db.Column(String(100), nullable=False)
    token_hash = db.Column(String(64), unique=True, nullable=False)
    created_at = db.Column(Timestamp, nullable=False, default=utcnow)
    last_used_at = db.Column(Timestamp, nullable=True)
    revoked_at = db.Column(Timestamp, nullable=True)


class LoginLimit(db.Model):
    """Password checks counted per scope ("user:<name>@<client>", "user:<name>", "client:<addr>",
    "global") in a fixed window; a scope that reached its limit refuses logins until the window ends.
    A check counts from before bcrypt runs (a success gives it back), so parallel guesses cannot
    all slip in before the first failure is written."""

    __tablename__ = "login_limits"
    scope = db.Column(String(120), primary_key=True)
    failures = db.Column(Integer, nullable=False, default=0)
    window_ends = db.Column(Timestamp, nullable=False)


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


class Approval(db.Model):
    """A credit above the approval limit, waiting for a second person (maker-checker): the maker
    asked, a checker who is not the maker approves or rejects it; approving makes the deposit."""

    __tablename__ = "approvals"
    __table_args__ = (UniqueConstraint("maker_id", "idempotency_key", name="uq_approvals_idempotency"),)
    approval_id = db.Column(Id, primary_key=True, autoincrement=True)
    kind = db.Column(String(16), nullable=False, default="deposit")
    acc_id = db.Column(Id, db.ForeignKey("accounts.acc_id"), nullable=False, index=True)
    amount_cents = db.Column(BigInteger, nullable=False)
    status = db.Column(String(16), nullable=False, default="pending")  # pending, approved, rejected
    maker_id = db.Column(Integer, db.ForeignKey("staff.staff_id"), nullable=False)
    checker_id = db.Column(Integer, db.ForeignKey("staff.staff_id"), nullable=True)
    trans_id = db.Column(Id, db.ForeignKey("transactions.trans_id"), nullable=True)
    idempotency_key = db.Column(String(255), nullable=True)
    request_fingerprint = db.Column(String(64), nullable=True)
    created_at = db.Column(Timestamp, nullable=False, default=utcnow)
    decided_at = db.Column(Timestamp, nullable=True)
    maker = db.relationship("Staff", foreign_keys=[maker_id])
    checker = db.relationship("Staff", foreign_keys=[checker_id])


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
    action = db.Column(String(16), nullable=False)  # opened, closed, activated, approval_asked, approved, rejected
    status = db.Column(String(16), nullable=False)
    message = db.Column(String(300), nullable=False)
    staff = db.Column(String(40), nullable=False)
    time_stamp = db.Column(Timestamp, nullable=False, default=utcnow)
