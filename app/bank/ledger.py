"""The ledger: deposits, withdrawals and transfers, each one atomic, and the history they leave.

Every operation locks the accounts it touches, in ascending acc_id order, before reading a
balance, so concurrent operations serialize per account and can never deadlock each other; a
balance is checked and changed under that lock, and each change writes its transaction row in the
same commit. A CHECK constraint refuses a negative balance as a last line of defence.
"""
import hashlib

from flask import current_app
from sqlalchemy.exc import IntegrityError

from .database import db, run_write
from .errors import InsufficientFunds, InvalidInput, KeyReused, NotFound, RuleViolation
from .models import Account, Transaction, Transfer, utcnow
from .money import format_display
from .validation import MAX_STATEMENT_ROWS


def _lock_accounts(session, acc_ids):
    wanted = sorted(set(acc_ids))
    rows = (
        session.query(Account)
        .filter(Account.acc_id.in_(wanted))
        .order_by(Account.acc_id)
        .populate_existing()
        .with_for_update()
        .all()
    )
    found = {account.acc_id: account for account in rows}
    for acc_id in acc_ids:
        if acc_id not in found:
            raise NotFound(f"account {acc_id} not found")
        if found[acc_id].status != "active":
            raise RuleViolation(f"account {acc_id} is closed")
    return found


def _move(session, account, cents, kind, staff, message, now, transfer=None, counterparty=None):
    if account.balance_cents + cents < 0:
        raise InsufficientFunds(
            account.acc_id, account.balance_cents,
            f"insufficient funds: account {account.acc_id} holds {format_display(account.balance_cents)}",
        )
    account.balance_cents += cents
    account.last_update = now
    account.message = message
    row = Transaction(
        acc_id=account.acc_id,
        kind=kind,
        amount_cents=cents,
        balance_after_cents=account.balance_cents,
        transfer_id=transfer.transfer_id if transfer else None,
        counterparty_acc_id=counterparty,
        message=message,
        staff_id=staff.staff_id,
        time_stamp=now,
    )
    session.add(row)
    return row


def cash_fingerprint(kind, acc_id, cents):
    return hashlib.sha256(f"{kind}:{acc_id}:{cents}".encode()).hexdigest()


def needs_approval(cents):
    """Whether a credit of this size needs a second person (maker-checker, see approvals)."""
    return cents > current_app.config["APPROVAL_LIMIT_CENTS"]


def _cash(acc_id, cents, kind, staff, key):
    """A deposit (cents > 0) or withdrawal (cents < 0); returns (Transaction, replayed)."""
    fingerprint = cash_fingerprint(kind, acc_id, cents)
    message = "Deposit" if kind == "deposit" else "Withdrawal"

    def run(session):
        if key is None:
            account = _lock_accounts(session, [acc_id])[acc_id]
        else:
            # Lock first, then read the key (see transfer): a racing retry waits here, then sees it.
            try:
                account = _lock_accounts(session, [acc_id])[acc_id]
            except (NotFound, RuleViolation):
                account = None
            earlier = session.query(Transaction).filter_by(staff_id=staff.staff_id, idempotency_key=key).one_or_none()
            if earlier is not None:
                if earlier.request_fingerprint != fingerprint:
                    raise KeyReused("Idempotency-Key was already used for a different request")
                return earlier.trans_id, True
            if account is None:
                account = _lock_accounts(session, [acc_id])[acc_id]
        row = _move(session, account, cents, kind, staff, message, utcnow())
        row.idempotency_key = key
        row.request_fingerprint = fingerprint if key else None
        session.flush()
        return row.trans_id, False

    try:
        trans_id, replayed = run_write(run)
    except IntegrityError:
        if key is None:
            raise
        trans_id, replayed = run_write(run)  # the same key won a concurrent insert; answer with it
    return db.session.get(Transaction, trans_id), replayed


def deposit(acc_id, cents, staff, key=None):
    """Cash in, up to the approval limit; above it the deposit is asked for through approvals."""
    if needs_approval(cents):
        raise RuleViolation("amount: a deposit above the approval limit needs a second person's approval")
    return _cash(acc_id, cents, "deposit", staff, key)


def approved_deposit(session, acc_id, cents, maker, checker, now):
    """The deposit an approval stands for, inside the approver's write (the approval row is locked)."""
    account = _lock_accounts(session, [acc_id])[acc_id]
    row = _move(session, account, cents, "deposit", maker, f"Deposit (approved by {checker.username})", now)
    session.flush()
    return row


def withdraw(acc_id, cents, staff, key=None):
    return _cash(acc_id, -cents, "withdrawal", staff, key)


def idempotency_key(header_value):
    """The Idempotency-Key header checked for shape, or None when absent."""
    if header_value is None:
        return None
    key = header_value.strip()
    if not 1 <= len(key) <= 255 or not key.isascii() or not key.isprintable():
        raise InvalidInput("Idempotency-Key", "must be 1 to 255 printable ASCII characters")
    return key


def transfer(from_id, to_id, cents, staff, key=None):
    """Move money; returns (Transfer, replayed). With `key`, a repeat of the same request returns
    the first transfer instead of moving money again."""
    if from_id == to_id:
        raise RuleViolation("from and to are the same account; a transfer needs two accounts")
    fingerprint = hashlib.sha256(f"{from_id}>{to_id}:{cents}".encode()).hexdigest()

    def run(session):
        if key is None:
            accounts = _lock_accounts(session, [from_id, to_id])
        else:
            # Locking the accounts first makes two retries of one request queue on the same rows,
            # so the second one's plain read below (a fresh snapshot, taken after the wait) sees
            # the first one's committed transfer. A locking read of the key would take gap locks
            # that make concurrent transfers of one teller deadlock.
            try:
                accounts = _lock_accounts(session, [from_id, to_id])
            except (NotFound, RuleViolation):
                accounts = None
            earlier = (
                session.query(Transfer)
                .filter_by(staff_id=staff.staff_id, idempotency_key=key)
                .one_or_none()
            )
            if earlier is not None:
                if earlier.request_fingerprint != fingerprint:
                    raise KeyReused("Idempotency-Key was already used for a different transfer")
                return earlier.transfer_id, True
            if accounts is None:
                accounts = _lock_accounts(session, [from_id, to_id])
        now = utcnow()
        record = Transfer(
            from_acc_id=from_id,
            to_acc_id=to_id,
            amount_cents=cents,
            staff_id=staff.staff_id,
            idempotency_key=key,
            request_fingerprint=fingerprint if key else None,
            time_stamp=now,
        )
        session.add(record)
        session.flush()
        _move(session, accounts[from_id], -cents, "transfer_out", staff, f"Transfer to {to_id}", now, record, to_id)
        _move(session, accounts[to_id], cents, "transfer_in", staff, f"Transfer from {from_id}", now, record, from_id)
        return record.transfer_id, False

    try:
        transfer_id, replayed = run_write(run)
    except IntegrityError:
        if key is None:
            raise
        # The same key arrived concurrently for other accounts and won the insert; answer with it.
        transfer_id, replayed = run_write(run)
    return db.session.get(Transfer, transfer_id), replayed


def transfer_rows(transfer_record):
    rows = db.session.query(Transaction).filter_by(transfer_id=transfer_record.transfer_id).all()
    return {row.kind: row for row in rows}


def history(acc_id, since=None, until=None, limit=None):
    """An account's transactions in time order: within [since, until), the last `limit` of them
    (at most MAX_STATEMENT_ROWS). Returns (rows, truncated)."""
    if db.session.get(Account, acc_id) is None:
        raise NotFound(f"account {acc_id} not found")
    query = db.session.query(Transaction).filter(Transaction.acc_id == acc_id)
    if since is not None:
        query = query.filter(Transaction.time_stamp >= since)
    if until is not None:
        query = query.filter(Transaction.time_stamp < until)
    wanted = min(limit or MAX_STATEMENT_ROWS, MAX_STATEMENT_ROWS)
    rows = query.order_by(Transaction.trans_id.desc()).limit(wanted + 1).all()
    truncated = len(rows) > wanted and limit is None
    rows = rows[:wanted]
    rows.reverse()
    return rows, truncated
