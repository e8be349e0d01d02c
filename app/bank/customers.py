"""Customers and their accounts' lifecycle (executives' work), each change written to the audit logs."""
from sqlalchemy.exc import IntegrityError

from .database import db, run_write
from .errors import Conflict, NotFound, RuleViolation
from .models import Account, AccountLog, Customer, CustomerLog, utcnow
from .money import format_display


def shown_ssn(ssn_id, staff):
    """The SSN id as this staff member may see it: executives all of it, tellers and cashiers the
    last four digits (enough to confirm a customer's identity, not to take it)."""
    return ssn_id if staff.role == "executive" else "*****" + ssn_id[-4:]


def find_by_ssn(ssn_id):
    return db.session.query(Customer).filter_by(ssn_id=ssn_id).one_or_none()


def get_customer(cust_id):
    customer = db.session.get(Customer, cust_id)
    if customer is None:
        raise NotFound(f"customer {cust_id} not found")
    return customer


def get_account(acc_id):
    account = db.session.get(Account, acc_id)
    if account is None:
        raise NotFound(f"account {acc_id} not found")
    return account


def find_customer(session, cust_id, lock=False):
    query = session.query(Customer).filter_by(cust_id=cust_id).populate_existing()
    customer = (query.with_for_update() if lock else query).one_or_none()
    if customer is None:
        raise NotFound(f"customer {cust_id} not found")
    return customer


def _find_account(session, acc_id):
    account = session.query(Account).filter_by(acc_id=acc_id).populate_existing().with_for_update().one_or_none()
    if account is None:
        raise NotFound(f"account {acc_id} not found")
    return account


def _log_customer(session, customer, action, message, staff):
    session.add(CustomerLog(cust_id=customer.cust_id, action=action, message=message, staff=staff.username))


def log_account(session, account, action, message, staff):
    session.add(
        AccountLog(
            acc_id=account.acc_id,
            cust_id=account.cust_id,
            action=action,
            status=account.status,
            message=message,
            staff=staff.username,
        )
    )


def create_customer(fields, staff):
    def insert(session):
        if session.query(Customer.cust_id).filter_by(ssn_id=fields["ssn_id"]).first():
            raise Conflict("ssn_id: a customer with this SSN id already exists")
        customer = Customer(**fields, status="active")
        session.add(customer)
        session.flush()
        _log_customer(session, customer, "created", "Customer created", staff)
        return customer.cust_id

    try:
        cust_id = run_write(insert)
    except IntegrityError:
        raise Conflict("ssn_id: a customer with this SSN id already exists") from None
    return get_customer(cust_id)


def update_customer(cust_id, fields, staff):
    def update(session):
        customer = find_customer(session, cust_id, lock=True)
        changed = [name for name, value in fields.items() if getattr(customer, name) != value]
        for name in changed:
            setattr(customer, name, fields[name])
        if changed:
            customer.last_update = utcnow()
            _log_customer(session, customer, "updated", f"Customer updated: {', '.join(changed)}", staff)

    run_write(update)
    return get_customer(cust_id)


def deactivate_customer(cust_id, staff):
    def deactivate(session):
        customer = find_customer(session, cust_id, lock=True)
        if customer.status != "active":
            raise RuleViolation(f"customer {cust_id} is already deactivated")
        open_accounts = [a.acc_id for a in customer.accounts if a.status == "active"]
        if open_accounts:
            raise RuleViolation(
                f"customer {cust_id} still has active accounts ({', '.join(map(str, open_accounts))}); close them first"
            )
        customer.status = "deactivated"
        customer.last_update = utcnow()
        _log_customer(session, customer, "deactivated", "Customer deactivated", staff)

    run_write(deactivate)
    return get_customer(cust_id)


def activate_customer(cust_id, staff):
    def activate(session):
        customer = find_customer(session, cust_id, lock=True)
        if customer.status == "active":
            raise RuleViolation(f"customer {cust_id} is already active")
        customer.status = "active"
        customer.last_update = utcnow()
        _log_customer(session, customer, "activated", "Customer reactivated", staff)

    run_write(activate)
    return get_customer(cust_id)


def open_account(cust_id, account_type, staff):
    """An empty account: money enters only as cash at a teller's or cashier's desk (a deposit), so
    opening one cannot create a balance that no cash backs."""

    def open_(session):
        customer = find_customer(session, cust_id, lock=True)
        if customer.status != "active":
            raise RuleViolation(f"customer {cust_id} is deactivated; reactivate the customer first")
        account = Account(cust_id=cust_id, type=account_type, balance_cents=0, status="active",
                          message="Account opened")
        session.add(account)
        session.flush()
        log_account(session, account, "opened", f"{account_type.capitalize()} account opened", staff)
        return account.acc_id

    return get_account(run_write(open_))


def close_account(acc_id, staff):
    def close(session):
        account = _find_account(session, acc_id)
        if account.status != "active":
            raise RuleViolation(f"account {acc_id} is already closed")
        if account.balance_cents != 0:
            raise RuleViolation(
                f"account {acc_id} holds {format_display(account.balance_cents)}; withdraw or transfer it before closing"
            )
        account.status = "closed"
        account.message = "Account closed"
        account.last_update = utcnow()
        log_account(session, account, "closed", "Account closed", staff)

    run_write(close)
    return get_account(acc_id)


def activate_account(acc_id, staff):
    def activate(session):
        owner = session.query(Account.cust_id).filter_by(acc_id=acc_id).scalar()
        if owner is None:
            raise NotFound(f"account {acc_id} not found")
        # Customer before account, the order deactivate_customer takes them in.
        customer = find_customer(session, owner, lock=True)
        account = _find_account(session, acc_id)
        if account.status == "active":
            raise RuleViolation(f"account {acc_id} is already active")
        if customer.status != "active":
            raise RuleViolation(f"customer {customer.cust_id} is deactivated; reactivate the customer first")
        account.status = "active"
        account.message = "Account reactivated"
        account.last_update = utcnow()
        log_account(session, account, "activated", "Account reactivated", staff)

    run_write(activate)
    return get_account(acc_id)


def customer_log(limit=200, cust_id=None):
    query = db.session.query(CustomerLog)
    if cust_id is not None:
        query = query.filter_by(cust_id=cust_id)
    return query.order_by(CustomerLog.log_id.desc()).limit(limit).all()


def account_log(limit=200, acc_id=None):
    query = db.session.query(AccountLog)
    if acc_id is not None:
        query = query.filter_by(acc_id=acc_id)
    return query.order_by(AccountLog.log_id.desc()).limit(limit).all()
