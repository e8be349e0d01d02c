"""The JSON API under /api/v1. Roles: executives manage customers and accounts; tellers and
cashiers move money and approve each other's large deposits; every staff role reads accounts,
customers (full SSN ids for executives only), history and statements; the audit logs are for executives."""
from flask import Blueprint, jsonify, request, send_file, url_for

from . import approvals, customers, ledger, statements
from .access import api_roles
from .errors import InvalidInput, RuleViolation
from .money import format_cents, parse_amount
from .validation import (
    account_type,
    customer_fields,
    id_field,
    reject_unknown,
    require_object,
    required,
    statement_range,
    whole_number,
)

blueprint = Blueprint("api", __name__, url_prefix="/api/v1")

EXECUTIVE = ("executive",)
MONEY_HANDLERS = ("teller", "cashier")


def _stamp(moment):
    return moment.isoformat(timespec="microseconds") + "Z"


def customer_json(customer, staff):
    return {
        "cust_id": customer.cust_id,
        "ssn_id": customers.shown_ssn(customer.ssn_id, staff),
        "name": customer.name,
        "address": customer.address,
        "age": customer.age,
        "state": customer.state,
        "city": customer.city,
        "status": customer.status,
        "last_update": _stamp(customer.last_update),
        "accounts": [account.acc_id for account in customer.accounts],
    }


def account_json(account):
    return {
        "acc_id": account.acc_id,
        "cust_id": account.cust_id,
        "type": account.type,
        "balance": format_cents(account.balance_cents),
        "status": account.status,
        "message": account.message,
        "last_update": _stamp(account.last_update),
    }


def transaction_json(row):
    return {
        "trans_id": row.trans_id,
        "acc_id": row.acc_id,
        "kind": row.kind,
        "amount": format_cents(row.amount_cents),
        "balance_after": format_cents(row.balance_after_cents),
        "transfer_id": row.transfer_id,
        "counterparty_acc_id": row.counterparty_acc_id,
        "message": row.message,
        "time_stamp": _stamp(row.time_stamp),
    }


def transfer_json(record):
    rows = ledger.transfer_rows(record)
    return {
        "transfer_id": record.transfer_id,
        "from": record.from_acc_id,
        "to": record.to_acc_id,
        "amount": format_cents(record.amount_cents),
        "from_balance": format_cents(rows["transfer_out"].balance_after_cents),
        "to_balance": format_cents(rows["transfer_in"].balance_after_cents),
        "time_stamp": _stamp(record.time_stamp),
    }


def approval_json(approval):
    return {
        "approval_id": approval.approval_id,
        "kind": approval.kind,
        "acc_id": approval.acc_id,
        "amount": format_cents(approval.amount_cents),
        "status": approval.status,
        "requested_by": approval.maker.username,
        "decided_by": approval.checker.username if approval.checker else None,
        "trans_id": approval.trans_id,
        "created_at": _stamp(approval.created_at),
        "decided_at": _stamp(approval.decided_at) if approval.decided_at else None,
    }


def _body():
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # nested deeper than the parser goes: not a body this API takes
        body = None
    if body is None:
        raise InvalidInput("body", "must be JSON (Content-Type: application/json)")
    return require_object(body)


def _amount_body():
    body = _body()
    reject_unknown(body, ("amount",))
    return parse_amount(required(body, "amount"))


# --- customers (executive) ---------------------------------------------------------------

@blueprint.post("/customers")
@api_roles(*EXECUTIVE)
def create_customer(staff):
    customer = customers.create_customer(customer_fields(_body()), staff)
    return jsonify(customer_json(customer, staff)), 201


@blueprint.get("/customers/<id:cust_id>")
@api_roles()
def show_customer(staff, cust_id):
    return jsonify(customer_json(customers.get_customer(cust_id), staff))


@blueprint.patch("/customers/<id:cust_id>")
@api_roles(*EXECUTIVE)
def update_customer(staff, cust_id):
    fields = customer_fields(_body(), partial=True)
    return jsonify(customer_json(customers.update_customer(cust_id, fields, staff), staff))


@blueprint.delete("/customers/<id:cust_id>")
@api_roles(*EXECUTIVE)
def deactivate_customer(staff, cust_id):
    return jsonify(customer_json(customers.deactivate_customer(cust_id, staff), staff))


@blueprint.post("/customers/<id:cust_id>/activate")
@api_roles(*EXECUTIVE)
def activate_customer(staff, cust_id):
    return jsonify(customer_json(customers.activate_customer(cust_id, staff), staff))


# --- accounts (executive opens and closes) ----------------------------------------------

@blueprint.post("/accounts")
@api_roles(*EXECUTIVE)
def open_account(staff):
    body = _body()
    reject_unknown(body, ("cust_id", "type", "deposit"))
    cust_id = id_field(body, "cust_id")
    kind = account_type(body)
    if "deposit" in body and parse_amount(body["deposit"], "deposit", allow_zero=True):
        raise RuleViolation("deposit: an account opens at 0.00; its first money is a cash deposit "
                            "by a teller or cashier")
    account = customers.open_account(cust_id, kind, staff)
    return jsonify(account_json(account)), 201


@blueprint.get("/accounts/<id:acc_id>")
@api_roles()
def show_account(staff, acc_id):
    return jsonify(account_json(customers.get_account(acc_id)))


@blueprint.delete("/accounts/<id:acc_id>")
@api_roles(*EXECUTIVE)
def close_account(staff, acc_id):
    return jsonify(account_json(customers.close_account(acc_id, staff)))


@blueprint.post("/accounts/<id:acc_id>/activate")
@api_roles(*EXECUTIVE)
def activate_account(staff, acc_id):
    return jsonify(account_json(customers.activate_account(acc_id, staff)))


# --- money (teller, cashier) --------------------------------------------------------------

@blueprint.post("/accounts/<id:acc_id>/deposit")
@api_roles(*MONEY_HANDLERS)
def deposit(staff, acc_id):
    key = ledger.idempotency_key(request.headers.get("Idempotency-Key"))
    kind, record, replayed = approvals.deposit(acc_id, _amount_body(), staff, key)
    if kind == "approval":
        response = jsonify(approval_json(record))
        response.status_code = 202
        response.headers["Location"] = url_for("api.show_approval", approval_id=record.approval_id)
    else:
        response = jsonify({"acc_id": acc_id, "balance": format_cents(record.balance_after_cents),
                            "trans_id": record.trans_id})
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


@blueprint.post("/accounts/<id:acc_id>/withdraw")
@api_roles(*MONEY_HANDLERS)
def withdraw(staff, acc_id):
    return _cash_response(ledger.withdraw, acc_id, staff)


def _cash_response(move, acc_id, staff):
    key = ledger.idempotency_key(request.headers.get("Idempotency-Key"))
    row, replayed = move(acc_id, _amount_body(), staff, key)
    response = jsonify({"acc_id": acc_id, "balance": format_cents(row.balance_after_cents), "trans_id": row.trans_id})
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


@blueprint.post("/transfers")
@api_roles(*MONEY_HANDLERS)
def transfer(staff):
    key = ledger.idempotency_key(request.headers.get("Idempotency-Key"))
    body = _body()
    reject_unknown(body, ("from", "to", "amount"))
    from_id = id_field(body, "from")
    to_id = id_field(body, "to")
    cents = parse_amount(required(body, "amount"))
    record, replayed = ledger.transfer(from_id, to_id, cents, staff, key)
    response = jsonify(transfer_json(record))
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response, 201


# --- approvals (maker-checker for deposits above the limit) ---------------------------------

@blueprint.get("/approvals")
@api_roles()
def list_approvals(staff):
    status = request.args.get("status") or None
    if status not in (None, "pending", "approved", "rejected"):
        raise InvalidInput("status", "must be pending, approved or rejected")
    return jsonify({"approvals": [approval_json(a) for a in approvals.listing(status, _log_limit())]})


@blueprint.get("/approvals/<id:approval_id>")
@api_roles()
def show_approval(staff, approval_id):
    return jsonify(approval_json(approvals.get(approval_id)))


@blueprint.post("/approvals/<id:approval_id>/approve")
@api_roles(*MONEY_HANDLERS)
def approve(staff, approval_id):
    approval = approvals.approve(approval_id, staff)
    account = customers.get_account(approval.acc_id)
    return jsonify({**approval_json(approval), "balance": format_cents(account.balance_cents)})


@blueprint.post("/approvals/<id:approval_id>/reject")
@api_roles(*MONEY_HANDLERS)
def reject(staff, approval_id):
    return jsonify(approval_json(approvals.reject(approval_id, staff)))


# --- history and statements (every staff role) ------------------------------------------

@blueprint.get("/accounts/<id:acc_id>/transactions")
@api_roles()
def transactions(staff, acc_id):
    since, until, limit = statement_range(request.args)
    rows, truncated = ledger.history(acc_id, since, until, limit)
    return jsonify({
        "acc_id": acc_id,
        "transactions": [transaction_json(row) for row in rows],
        "truncated": truncated,
    })


@blueprint.get("/accounts/<id:acc_id>/statement.pdf")
@api_roles()
def statement_pdf(staff, acc_id):
    statement = statements.build(acc_id, *statement_range(request.args))
    return send_file(statements.to_pdf(statement), mimetype="application/pdf",
                     as_attachment=True, download_name=f"statement-{acc_id}.pdf")


@blueprint.get("/accounts/<id:acc_id>/statement.xlsx")
@api_roles()
def statement_xlsx(staff, acc_id):
    statement = statements.build(acc_id, *statement_range(request.args))
    return send_file(statements.to_xlsx(statement),
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                     as_attachment=True, download_name=f"statement-{acc_id}.xlsx")


# --- audit logs (executive) ---------------------------------------------------------------

def _log_limit():
    return whole_number(request.args.get("limit", "200"), "limit", 1, 1000)


@blueprint.get("/customerlog")
@api_roles(*EXECUTIVE)
def customer_log(staff):
    return jsonify([
        {"log_id": e.log_id, "cust_id": e.cust_id, "action": e.action, "message": e.message,
         "staff": e.staff, "time_stamp": _stamp(e.time_stamp)}
        for e in customers.customer_log(_log_limit())
    ])


@blueprint.get("/accountlog")
@api_roles(*EXECUTIVE)
def account_log(staff):
    return jsonify([
        {"log_id": e.log_id, "acc_id": e.acc_id, "cust_id": e.cust_id, "action": e.action, "status": e.status,
         "message": e.message, "staff": e.staff, "time_stamp": _stamp(e.time_stamp)}
        for e in customers.account_log(_log_limit())
    ])
