"""Maker-checker for large credits: a deposit above the approval limit (BANK_APPROVAL_LIMIT) is only
asked for; a second teller or cashier, never the one who asked, approves it (the deposit is made
then) or rejects it. Asking, approving and rejecting are written to the account log."""
from sqlalchemy.exc import IntegrityError

from . import ledger
from .customers import log_account
from .database import db, run_write
from .errors import Forbidden, KeyReused, NotFound, RuleViolation
from .models import Account, Approval, Staff, Transaction, utcnow
from .money import format_display


def deposit(acc_id, cents, staff, key=None):
    """A deposit, or a request for one when it is above the limit. Returns (kind, record, replayed):
    ("deposit", Transaction, ...) or ("approval", Approval, ...)."""
    fingerprint = ledger.cash_fingerprint("deposit", acc_id, cents)
    if key is not None:
        # One key, one request: a key that asked for an approval does not also make a deposit.
        earlier = db.session.query(Approval).filter_by(maker_id=staff.staff_id, idempotency_key=key).one_or_none()
        if earlier is not None:
            if earlier.request_fingerprint != fingerprint:
                raise KeyReused("Idempotency-Key was already used for a different request")
            return "approval", earlier, True
    if not ledger.needs_approval(cents):
        row, replayed = ledger.deposit(acc_id, cents, staff, key)
        return "deposit", row, replayed
    if key is not None and db.session.query(Transaction.trans_id).filter_by(
            staff_id=staff.staff_id, idempotency_key=key).first():
        raise KeyReused("Idempotency-Key was already used for a different request")
    approval, replayed = _ask(acc_id, cents, staff, key, fingerprint)
    return "approval", approval, replayed


def _ask(acc_id, cents, staff, key, fingerprint):
    def ask(session):
        account = session.query(Account).filter_by(acc_id=acc_id).with_for_update().one_or_none()
        if account is None:
            raise NotFound(f"account {acc_id} not found")
        if account.status != "active":
            raise RuleViolation(f"account {acc_id} is closed")
        approval = Approval(kind="deposit", acc_id=acc_id, amount_cents=cents, status="pending",
                            maker_id=staff.staff_id, idempotency_key=key,
                            request_fingerprint=fingerprint if key else None)
        session.add(approval)
        session.flush()
        log_account(session, account, "approval_asked",
                    f"Deposit of {format_display(cents)} awaits approval (request {approval.approval_id})", staff)
        return approval.approval_id

    try:
        return get(run_write(ask)), False
    except IntegrityError:
        if key is None:
            raise
        # The same key won a concurrent insert: answer with that request.
        earlier = db.session.query(Approval).filter_by(maker_id=staff.staff_id, idempotency_key=key).one()
        return earlier, True


def get(approval_id):
    approval = db.session.get(Approval, approval_id)
    if approval is None:
        raise NotFound(f"approval request {approval_id} not found")
    return approval


def listing(status=None, limit=200):
    query = db.session.query(Approval)
    if status is not None:
        query = query.filter_by(status=status)
    return query.order_by(Approval.approval_id.desc()).limit(limit).all()


def _decide(approval_id, checker, approve):
    def decide(session):
        approval = (session.query(Approval).filter_by(approval_id=approval_id)
                    .populate_existing().with_for_update().one_or_none())
        if approval is None:
            raise NotFound(f"approval request {approval_id} not found")
        if approval.maker_id == checker.staff_id:
            raise Forbidden(f"request {approval_id}: you asked for it; a second person must approve or reject it")
        if approval.status != "pending":
            raise RuleViolation(f"request {approval_id} is already {approval.status}")
        now = utcnow()
        maker = session.get(Staff, approval.maker_id)
        amount = format_display(approval.amount_cents)
        if approve:
            row = ledger.approved_deposit(session, approval.acc_id, approval.amount_cents, maker, checker, now)
            approval.trans_id = row.trans_id
            approval.status = "approved"
        else:
            approval.status = "rejected"
        approval.checker_id = checker.staff_id
        approval.decided_at = now
        account = session.get(Account, approval.acc_id)
        log_account(session, account, approval.status,
                    f"Deposit of {amount} {approval.status} (request {approval_id}, asked by {maker.username})",
                    checker)

    run_write(decide)
    return get(approval_id)


def approve(approval_id, checker):
    return _decide(approval_id, checker, approve=True)


def reject(approval_id, checker):
    return _decide(approval_id, checker, approve=False)
