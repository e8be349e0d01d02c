"""The server-rendered pages staff use: log in, customers and accounts (executives), deposits,
withdrawals and transfers (tellers and cashiers), approvals of large deposits, statements and audit
logs (executives)."""
import uuid
from functools import wraps
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, send_file, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import or_
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from . import approvals, credentials, customers, ledger, statements
from .access import require_role
from .database import db
from .errors import BankError, InvalidInput, TooManyAttempts, Unauthorized
from .models import ACCOUNT_TYPES, Account, Customer
from .money import format_display, parse_amount
from .staff import authenticate, set_password
from .validation import (CUSTOMER_FIELDS, EDITABLE_CUSTOMER_FIELDS, customer_fields, id_text, page_number,
                         ssn_field, statement_range)

blueprint = Blueprint("web", __name__)

EXECUTIVE = ("executive",)
MONEY_HANDLERS = ("teller", "cashier")
PAGE_SIZE = 50


@blueprint.app_template_filter("money")
def _money(cents):
    return format_display(cents)


@blueprint.app_template_filter("ssn")
def _ssn(ssn_id):
    return customers.shown_ssn(ssn_id, current_user)


@blueprint.app_template_filter("when")
def _when(moment):
    return f"{moment:%Y-%m-%d %H:%M:%S}" if moment else ""


def staff_page(*roles):
    """A page for logged-in staff, optionally only for some roles (403 for the others)."""

    def decorate(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if roles:
                require_role(current_user, roles)
            return view(*args, **kwargs)

        return wrapped

    return decorate


def _form_error(error, template, **context):
    """Show the form again with what the person typed and the sentence saying what is wrong."""
    return render_template(template, error=error.message, form=request.form, **context), error.status


# --- logging in ---------------------------------------------------------------------------

def _safe_next(target):
    """`target` if it is one of this app's own pages, else the start page: an open redirect after
    login is a phishing tool. Browsers read "\\" as "/" and drop tabs and newlines, so "/\\evil" and
    "/\t/evil" leave the site; only printable ASCII that names a route of ours gets through."""
    home = url_for("web.home")
    if not target or not target.isascii() or not target.isprintable() or "\\" in target or " " in target:
        return home
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/") or parts.path.startswith("//"):
        return home
    try:
        current_app.url_map.bind("localhost").match(parts.path, method="GET")
    except RequestRedirect:
        return home
    except HTTPException:
        return home
    return target


@blueprint.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(url_for("web.home"))
        return render_template("login.html", next=request.args.get("next", ""))
    try:
        staff = authenticate(request.form.get("username", ""), request.form.get("password", ""), request.remote_addr)
    except BankError as error:
        headers = {"Retry-After": str(error.retry_after_seconds)} if isinstance(error, TooManyAttempts) else {}
        return render_template("login.html", error=error.message, next=request.form.get("next", ""),
                               username=request.form.get("username", "")), error.status, headers
    session.clear()  # a fresh session at login: nothing planted before it survives
    credentials.start_session(staff)
    # Not permanent: the cookie ends with the browser, the server ends the session after the idle
    # timeout or the absolute lifetime, and Flask-Login's strong protection applies.
    login_user(staff)
    return redirect(_safe_next(request.form.get("next")))


@blueprint.post("/logout")
@login_required
def logout():
    credentials.end_session(current_user.session_token)
    logout_user()
    session.clear()
    flash("You have logged out.")
    return redirect(url_for("web.login"))


@blueprint.route("/password", methods=["GET", "POST"])
@login_required
def password_change():
    if request.method == "GET":
        return render_template("password.html")
    try:
        try:
            # Through the login limits: a borrowed session must not become a way to guess passwords.
            authenticate(current_user.username, request.form.get("current_password", ""), request.remote_addr)
        except Unauthorized:
            raise Unauthorized("current_password: that is not your current password") from None
        new = request.form.get("new_password", "")
        if new != request.form.get("confirm_password", ""):
            raise InvalidInput("confirm_password", "does not match the new password")
        set_password(current_user.username, new)
    except BankError as error:
        return render_template("password.html", error=error.message), error.status
    # Every session of this person ended with the change; this browser gets a new one.
    staff = db.session.get(type(current_user._get_current_object()), current_user.staff_id)
    session.clear()
    credentials.start_session(staff)
    login_user(staff)
    flash("Password changed. Your other sessions have ended.")
    return redirect(url_for("web.home"))


@blueprint.get("/")
@staff_page()
def home():
    return render_template("home.html")


# --- customers --------------------------------------------------------------------------

@blueprint.get("/customers")
@staff_page()
def customer_list():
    query = db.session.query(Customer)
    search = request.args.get("q", "").strip()
    page = page_number(request.args)
    if search:
        # Never by SSN id here: a query string ends up in access logs (see customer_search).
        if search.isascii() and search.isdigit():
            query = query.filter(Customer.cust_id == id_text(search, "q", "a customer id"))
        else:
            query = query.filter(Customer.name.ilike(f"%{search}%"))
    status = request.args.get("status", "")
    if status in ("active", "deactivated"):
        query = query.filter(Customer.status == status)
    rows = query.order_by(Customer.cust_id).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1).all()
    return render_template("customers.html", customers=rows[:PAGE_SIZE], more=len(rows) > PAGE_SIZE,
                           page=page, search=search, status=status)


@blueprint.post("/customers/search")
@staff_page()
def customer_search():
    """Find a customer by SSN id. A POST, so the number stays out of URLs, histories and access logs."""
    try:
        ssn_id = ssn_field({"ssn_id": request.form.get("ssn_id", "")})
    except BankError as error:
        flash(error.message, "error")
        return render_template("customers.html", customers=[], more=False, page=1, search="", status=""), 400
    customer = customers.find_by_ssn(ssn_id)
    if customer is None:
        flash("No customer has this SSN id.", "error")
        return render_template("customers.html", customers=[], more=False, page=1, search="", status=""), 404
    return redirect(url_for("web.customer_page", cust_id=customer.cust_id))


@blueprint.route("/customers/new", methods=["GET", "POST"])
@staff_page(*EXECUTIVE)
def customer_new():
    if request.method == "GET":
        return render_template("customer_form.html", form={}, fields=CUSTOMER_FIELDS, customer=None)
    try:
        fields = customer_fields({name: request.form.get(name, "") for name in CUSTOMER_FIELDS})
        customer = customers.create_customer(fields, current_user)
    except BankError as error:
        return _form_error(error, "customer_form.html", fields=CUSTOMER_FIELDS, customer=None)
    flash(f"Customer {customer.cust_id} created.")
    return redirect(url_for("web.customer_page", cust_id=customer.cust_id))


@blueprint.get("/customers/<id:cust_id>")
@staff_page()
def customer_page(cust_id):
    customer = customers.get_customer(cust_id)
    # The audit logs are for executives, on pages as in the API.
    log = customers.customer_log(limit=50, cust_id=cust_id) if current_user.role in EXECUTIVE else None
    return render_template("customer.html", customer=customer, log=log)


@blueprint.route("/customers/<id:cust_id>/edit", methods=["GET", "POST"])
@staff_page(*EXECUTIVE)
def customer_edit(cust_id):
    customer = customers.get_customer(cust_id)
    if request.method == "GET":
        form = {name: getattr(customer, name) for name in CUSTOMER_FIELDS}
        return render_template("customer_form.html", form=form, fields=EDITABLE_CUSTOMER_FIELDS, customer=customer)
    try:
        fields = customer_fields({name: request.form.get(name, "") for name in EDITABLE_CUSTOMER_FIELDS}, partial=True)
        customers.update_customer(cust_id, fields, current_user)
    except BankError as error:
        return _form_error(error, "customer_form.html", fields=EDITABLE_CUSTOMER_FIELDS, customer=customer)
    flash(f"Customer {cust_id} updated.")
    return redirect(url_for("web.customer_page", cust_id=cust_id))


def _customer_action(cust_id, action, done):
    try:
        action(cust_id, current_user)
        flash(done)
    except BankError as error:
        flash(error.message, "error")
    return redirect(url_for("web.customer_page", cust_id=cust_id))


@blueprint.post("/customers/<id:cust_id>/deactivate")
@staff_page(*EXECUTIVE)
def customer_deactivate(cust_id):
    return _customer_action(cust_id, customers.deactivate_customer, f"Customer {cust_id} deactivated.")


@blueprint.post("/customers/<id:cust_id>/activate")
@staff_page(*EXECUTIVE)
def customer_activate(cust_id):
    return _customer_action(cust_id, customers.activate_customer, f"Customer {cust_id} reactivated.")


# --- accounts ---------------------------------------------------------------------------

@blueprint.get("/accounts")
@staff_page()
def account_list():
    query = db.session.query(Account)
    search = request.args.get("q", "").strip()
    page = page_number(request.args)
    if search:
        try:
            wanted = id_text(search, "q", "an account id or customer id")
        except InvalidInput:
            flash("Search by account id or customer id (digits only).", "error")
            return render_template("accounts.html", accounts=[], search=search, status="", more=False, page=1), 400
        query = query.filter(or_(Account.acc_id == wanted, Account.cust_id == wanted))
    status = request.args.get("status", "")
    if status in ("active", "closed"):
        query = query.filter(Account.status == status)
    rows = query.order_by(Account.acc_id).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1).all()
    if search and len(rows) == 1 and rows[0].acc_id == int(search):
        return redirect(url_for("web.account_page", acc_id=rows[0].acc_id))
    return render_template("accounts.html", accounts=rows[:PAGE_SIZE], more=len(rows) > PAGE_SIZE,
                           page=page, search=search, status=status)


@blueprint.route("/accounts/new", methods=["GET", "POST"])
@staff_page(*EXECUTIVE)
def account_new():
    if request.method == "GET":
        return render_template("account_form.html", form={"cust_id": request.args.get("cust_id", "")},
                               types=ACCOUNT_TYPES)
    try:
        cust_id = id_text(request.form.get("cust_id", "").strip(), "cust_id", "a customer id")
        kind = request.form.get("type", "")
        if kind not in ACCOUNT_TYPES:
            raise InvalidInput("type", f"must be one of {', '.join(ACCOUNT_TYPES)}")
        account = customers.open_account(cust_id, kind, current_user)
    except BankError as error:
        return _form_error(error, "account_form.html", types=ACCOUNT_TYPES)
    flash(f"Account {account.acc_id} opened.")
    return redirect(url_for("web.account_page", acc_id=account.acc_id))


@blueprint.get("/accounts/<id:acc_id>")
@staff_page()
def account_page(acc_id):
    account = customers.get_account(acc_id)
    recent, _ = ledger.history(acc_id, limit=10)
    log = customers.account_log(limit=20, acc_id=acc_id) if current_user.role in EXECUTIVE else None
    return render_template("account.html", account=account, recent=reversed(recent), log=log,
                           deposit_key=uuid.uuid4().hex, withdraw_key=uuid.uuid4().hex)


def _money_move(acc_id, move, done):
    try:
        cents = parse_amount(request.form.get("amount", ""), "amount")
        # Each form carries a key made when the page was shown: a double click moves money once.
        row, replayed = move(acc_id, cents, current_user, ledger.idempotency_key(request.form.get("key") or None))
        if not replayed:
            flash(f"{done} {format_display(cents)}. New balance {format_display(row.balance_after_cents)}.")
    except BankError as error:
        flash(error.message, "error")
    return redirect(url_for("web.account_page", acc_id=acc_id))


@blueprint.post("/accounts/<id:acc_id>/deposit")
@staff_page(*MONEY_HANDLERS)
def account_deposit(acc_id):
    try:
        cents = parse_amount(request.form.get("amount", ""), "amount")
        key = ledger.idempotency_key(request.form.get("key") or None)
        kind, record, replayed = approvals.deposit(acc_id, cents, current_user, key)
        if replayed:
            pass  # a double click: the first submission already said what happened
        elif kind == "approval":
            flash(f"The deposit of {format_display(cents)} awaits a second person's approval "
                  f"(request {record.approval_id}).")
        else:
            flash(f"Deposited {format_display(cents)}. New balance {format_display(record.balance_after_cents)}.")
    except BankError as error:
        flash(error.message, "error")
    return redirect(url_for("web.account_page", acc_id=acc_id))


@blueprint.post("/accounts/<id:acc_id>/withdraw")
@staff_page(*MONEY_HANDLERS)
def account_withdraw(acc_id):
    return _money_move(acc_id, ledger.withdraw, "Withdrew")


@blueprint.post("/accounts/<id:acc_id>/close")
@staff_page(*EXECUTIVE)
def account_close(acc_id):
    try:
        customers.close_account(acc_id, current_user)
        flash(f"Account {acc_id} closed.")
    except BankError as error:
        flash(error.message, "error")
    return redirect(url_for("web.account_page", acc_id=acc_id))


@blueprint.post("/accounts/<id:acc_id>/activate")
@staff_page(*EXECUTIVE)
def account_activate(acc_id):
    try:
        customers.activate_account(acc_id, current_user)
        flash(f"Account {acc_id} reactivated.")
    except BankError as error:
        flash(error.message, "error")
    return redirect(url_for("web.account_page", acc_id=acc_id))


@blueprint.route("/transfer", methods=["GET", "POST"])
@staff_page(*MONEY_HANDLERS)
def transfer():
    if request.method == "GET":
        form = {"from": request.args.get("from", ""), "to": "", "amount": "", "key": uuid.uuid4().hex}
        return render_template("transfer.html", form=form)
    try:
        ids = {field: id_text(request.form.get(field, "").strip(), field, "an account id") for field in ("from", "to")}
        cents = parse_amount(request.form.get("amount", ""), "amount")
        # The form carries a key made when it was shown, so a double click moves the money once.
        key = ledger.idempotency_key(request.form.get("key") or None)
        record, replayed = ledger.transfer(ids["from"], ids["to"], cents, current_user, key)
    except BankError as error:
        return _form_error(error, "transfer.html")
    if not replayed:
        flash(f"Transferred {format_display(record.amount_cents)} from {record.from_acc_id} to {record.to_acc_id}.")
    return redirect(url_for("web.account_page", acc_id=record.from_acc_id))


# --- approvals ------------------------------------------------------------------------------

@blueprint.get("/approvals")
@staff_page(*MONEY_HANDLERS)
def approval_list():
    return render_template("approvals.html", pending=approvals.listing("pending"),
                           decided=[a for a in approvals.listing(limit=50) if a.status != "pending"][:20])


def _decision(approval_id, decide, done):
    try:
        approval = decide(approval_id, current_user)
        flash(f"Request {approval_id} {done}.")
        return redirect(url_for("web.account_page", acc_id=approval.acc_id))
    except BankError as error:
        flash(error.message, "error")
        return redirect(url_for("web.approval_list"))


@blueprint.post("/approvals/<id:approval_id>/approve")
@staff_page(*MONEY_HANDLERS)
def approval_approve(approval_id):
    return _decision(approval_id, approvals.approve, "approved")


@blueprint.post("/approvals/<id:approval_id>/reject")
@staff_page(*MONEY_HANDLERS)
def approval_reject(approval_id):
    return _decision(approval_id, approvals.reject, "rejected")


# --- statements and logs ----------------------------------------------------------------

@blueprint.get("/accounts/<id:acc_id>/statement")
@staff_page()
def statement_page(acc_id):
    customers.get_account(acc_id)
    query = {k: v for k, v in request.args.items() if k in ("since", "until", "limit") and v}
    try:
        statement = statements.build(acc_id, *statement_range(query))
    except InvalidInput as error:
        flash(error.message, "error")
        return render_template("statement.html", statement=None, acc_id=acc_id, query=query), 400
    return render_template("statement.html", statement=statement, acc_id=acc_id, query=query,
                           rows=list(statements.table_rows(statement)))


@blueprint.get("/accounts/<id:acc_id>/statement.<any(pdf, xlsx):fmt>")
@staff_page()
def statement_download(acc_id, fmt):
    statement = statements.build(acc_id, *statement_range(request.args))
    if fmt == "pdf":
        return send_file(statements.to_pdf(statement), mimetype="application/pdf", as_attachment=True,
                         download_name=f"statement-{acc_id}.pdf")
    return send_file(statements.to_xlsx(statement), as_attachment=True, download_name=f"statement-{acc_id}.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@blueprint.get("/logs/customers")
@staff_page(*EXECUTIVE)
def customer_log_page():
    return render_template("logs.html", kind="customer", entries=customers.customer_log(limit=500))


@blueprint.get("/logs/accounts")
@staff_page(*EXECUTIVE)
def account_log_page():
    return render_template("logs.html", kind="account", entries=customers.account_log(limit=500))


@blueprint.get("/status")
@staff_page(*EXECUTIVE)
def status_page():
    counts = {
        "customers": dict(db.session.query(Customer.status, db.func.count()).group_by(Customer.status).all()),
        "accounts": dict(db.session.query(Account.status, db.func.count()).group_by(Account.status).all()),
    }
    return render_template("status.html", counts=counts,
                           customer_log=customers.customer_log(limit=10), account_log=customers.account_log(limit=10))

