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

from . import approvals, credentials, customers, forms, ledger, statements
from .access import require_role
from .database import db
from .errors import (BankError, Conflict, InsufficientFunds, InvalidInput, KeyReused, NotFound, RuleViolation,
                     TooManyAttempts, Unauthorized)
from .forms import LABELS, FormProblems, FormReader, sentence
from .models import ACCOUNT_TYPES, Account, Customer, Staff, Transfer
from .money import format_display
from .staff import authenticate, set_password
from .validation import (CUSTOMER_FIELDS, EDITABLE_CUSTOMER_FIELDS, id_text, page_number, password_field, ssn_field,
                         statement_range)

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


def _refused(error, template, form=None, **context):
    """The form again, with what the person typed and what is wrong: each field's problem beside
    that field, a problem of the whole request above the form."""
    if isinstance(error, FormProblems):
        problems, message = error.problems, None
    elif isinstance(error, InvalidInput) and error.field in LABELS:
        problems, message = {error.field: sentence(f"{LABELS[error.field]} {error.problem}")}, None
    else:
        problems, message = {}, sentence(error.message)
    return render_template(template, error=message, problems=problems, form=request.form if form is None else form,
                           **context), error.status


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
    reader = FormReader(request.form)
    try:
        try:
            # Through the login limits: a borrowed session must not become a way to guess passwords.
            authenticate(current_user.username, reader.raw("current_password"), request.remote_addr)
        except Unauthorized:
            reader.note("current_password", "This is not your current password", status=401)
        new = reader.raw("new_password")
        reader.check("new_password", password_field, new, "new_password", current_user.username)
        if new != reader.raw("confirm_password"):
            reader.note("confirm_password", "This does not match the new password", status=400)
        reader.finish()
        set_password(current_user.username, new)
    except BankError as error:
        # Passwords are never sent back into the page.
        return _refused(error, "password.html", form={})
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
    reader = FormReader(request.form)
    ssn_id = reader.check("ssn_id", ssn_field, request.form)
    if ssn_id is not None and (customer := customers.find_by_ssn(ssn_id)) is not None:
        return redirect(url_for("web.customer_page", cust_id=customer.cust_id))
    if ssn_id is not None:
        reader.note("ssn_id", "No customer has this SSN id", status=404)
    # The number typed is not sent back: it stays out of the page as it stays out of URLs.
    return render_template("customers.html", customers=[], more=False, page=1, search="", status="",
                           problems=reader.problems), reader.status


@blueprint.route("/customers/new", methods=["GET", "POST"])
@staff_page(*EXECUTIVE)
def customer_new():
    if request.method == "GET":
        return render_template("customer_form.html", form={}, fields=CUSTOMER_FIELDS, customer=None)
    try:
        fields = forms.customer_fields(request.form, CUSTOMER_FIELDS)
        customer = customers.create_customer(fields, current_user)
    except Conflict:  # the one conflict a new customer can meet
        error = FormProblems({"ssn_id": "A customer with this SSN id already exists."}, status=409)
        return _refused(error, "customer_form.html", fields=CUSTOMER_FIELDS, customer=None)
    except BankError as error:
        return _refused(error, "customer_form.html", fields=CUSTOMER_FIELDS, customer=None)
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
        fields = forms.customer_fields(request.form, EDITABLE_CUSTOMER_FIELDS)
        customers.update_customer(cust_id, fields, current_user)
    except BankError as error:
        return _refused(error, "customer_form.html", fields=EDITABLE_CUSTOMER_FIELDS, customer=customer)
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
            return render_template("accounts.html", accounts=[], search=search, status="", more=False, page=1,
                                   problems={"q": "Search by account id or customer id, in digits."}), 400
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
    reader = FormReader(request.form)
    try:
        cust_id = forms.customer_id(reader)
        kind = reader.raw("type")
        if kind not in ACCOUNT_TYPES:
            reader.note("type", f"Type must be one of {', '.join(ACCOUNT_TYPES)}", status=400)
        reader.finish()
        try:
            account = customers.open_account(cust_id, kind, current_user)
        except NotFound:
            raise FormProblems({"cust_id": f"There is no customer {cust_id}."}, status=404) from None
        except RuleViolation as error:  # a deactivated customer
            raise FormProblems({"cust_id": sentence(error.message)}, status=error.status) from None
    except BankError as error:
        return _refused(error, "account_form.html", types=ACCOUNT_TYPES)
    flash(f"Account {account.acc_id} opened.")
    return redirect(url_for("web.account_page", acc_id=account.acc_id))


@blueprint.get("/accounts/<id:acc_id>")
@staff_page()
def account_page(acc_id):
    return _account_page(acc_id)


def _account_page(acc_id, refused=None, form=None, problems=None, error=None, status=200):
    """The account, with fresh keys in its money forms; `refused` names the form ("deposit" or
    "withdraw") whose submission is shown again with its problems."""
    account = customers.get_account(acc_id)
    recent, _ = ledger.history(acc_id, limit=10)
    log = customers.account_log(limit=20, acc_id=acc_id) if current_user.role in EXECUTIVE else None
    return render_template("account.html", account=account, recent=reversed(recent), log=log,
                           deposit_key=uuid.uuid4().hex, withdraw_key=uuid.uuid4().hex,
                           refused=refused, form=form or {}, problems=problems or {}, error=error), status


def _cash_refused(acc_id, which, error):
    if isinstance(error, InsufficientFunds):
        error = FormProblems({"amount": f"Account {acc_id} holds only {format_display(error.balance_cents)}."},
                             status=error.status)
    elif isinstance(error, KeyReused):
        error = RuleViolation(f"this {which} form was already used for another amount, so nothing was done; "
                              "enter the amount again below")
    elif isinstance(error, NotFound):
        raise error
    if isinstance(error, FormProblems):
        return _account_page(acc_id, which, request.form, problems=error.problems, status=error.status)
    return _account_page(acc_id, which, request.form, error=sentence(error.message), status=error.status)


def _cash_form():
    """The amount and key of a deposit or withdrawal form, checked."""
    reader = FormReader(request.form)
    cents = forms.amount(reader)
    reader.finish()
    # Each form carries a key made when the page was shown: a double click moves money once.
    return cents, ledger.idempotency_key(request.form.get("key") or None)


@blueprint.post("/accounts/<id:acc_id>/deposit")
@staff_page(*MONEY_HANDLERS)
def account_deposit(acc_id):
    try:
        cents, key = _cash_form()
        kind, record, replayed = approvals.deposit(acc_id, cents, current_user, key)
    except BankError as error:
        return _cash_refused(acc_id, "deposit", error)
    if replayed:
        pass  # a double click: the first submission already said what happened
    elif kind == "approval":
        flash(f"The deposit of {format_display(cents)} awaits a second person's approval "
              f"(request {record.approval_id}).")
    else:
        flash(f"Deposited {format_display(cents)}. New balance {format_display(record.balance_after_cents)}.")
    return redirect(url_for("web.account_page", acc_id=acc_id))


@blueprint.post("/accounts/<id:acc_id>/withdraw")
@staff_page(*MONEY_HANDLERS)
def account_withdraw(acc_id):
    try:
        cents, key = _cash_form()
        row, replayed = ledger.withdraw(acc_id, cents, current_user, key)
    except BankError as error:
        return _cash_refused(acc_id, "withdraw", error)
    if not replayed:
        flash(f"Withdrew {format_display(cents)}. New balance {format_display(row.balance_after_cents)}.")
    return redirect(url_for("web.account_page", acc_id=acc_id))


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


# A transfer from the page goes in two steps: "review" shows both accounts' holders and the amount,
# "confirm" moves the money and leads to the receipt. The API moves it in one (its client is a program).
TRANSFER_STEPS = ("review", "change", "confirm")


@blueprint.get("/transfer")
@staff_page(*MONEY_HANDLERS)
def transfer():
    cust_id = request.args.get("cust_id", "")
    customer = customers.get_customer(id_text(cust_id, "cust_id", "a customer id")) if cust_id else None
    form = {"from": request.args.get("from", ""), "to": "", "amount": "", "key": uuid.uuid4().hex}
    return _transfer_form(form, customer=customer)


def _transfer_form(form, problems=None, error=None, status=200, customer=None):
    return render_template("transfer.html", form=form, problems=problems or {}, error=error,
                           choices=_account_choices(form, customer)), status


def _account_choices(form, customer=None):
    """The active accounts of the customers whose accounts the form names (and of `customer`), for
    the account fields to offer by holder and type: (acc_id, "holder · type · balance")."""
    cust_ids = {customer.cust_id} if customer else set()
    acc_ids = [int(form[f]) for f in ("from", "to") if _is_id(form.get(f, ""))]
    if acc_ids:
        cust_ids |= {c for (c,) in db.session.query(Account.cust_id).filter(Account.acc_id.in_(acc_ids))}
    if not cust_ids:
        return []
    accounts = (db.session.query(Account).join(Customer).filter(Account.cust_id.in_(cust_ids),
                                                                 Account.status == "active")
                .order_by(Customer.name, Account.acc_id).all())
    return [(a.acc_id, f"{a.customer.name} · {a.type} · {format_display(a.balance_cents)}") for a in accounts]


def _is_id(raw):
    """Whether a form's account field holds an id (a wrong one is reported by the checks, not here)."""
    try:
        id_text(raw.strip(), "id", "an id")
        return True
    except InvalidInput:
        return False


def _transfer_checks(reader):
    """Both accounts looked up and the amount checked against the balance now, each problem beside
    its field. Returns (source, target, cents); the ledger checks again under its locks."""
    from_id, to_id = forms.account_id(reader, "from"), forms.account_id(reader, "to")
    cents = forms.amount(reader)
    found = {}
    for field, acc_id in (("from", from_id), ("to", to_id)):
        if acc_id is None:
            continue
        account = db.session.get(Account, acc_id)
        if account is None:
            reader.note(field, f"There is no account {acc_id}", status=404)
        elif account.status != "active":
            reader.note(field, f"Account {acc_id} is closed; money cannot move to or from it")
        else:
            found[field] = account
    if from_id is not None and from_id == to_id:
        reader.note("to", "This is the account the money comes from; a transfer needs two accounts")
    if "from" in found and cents and cents > found["from"].balance_cents:
        reader.note("amount", f"Account {from_id} holds only {format_display(found['from'].balance_cents)}")
    reader.finish()
    return found["from"], found["to"], cents


@blueprint.post("/transfer")
@staff_page(*MONEY_HANDLERS)
def transfer_step():
    form = {field: request.form.get(field, "") for field in ("from", "to", "amount", "key")}
    step = request.form.get("step") or "review"
    if step not in TRANSFER_STEPS:
        raise InvalidInput("step", f"must be one of {', '.join(TRANSFER_STEPS)}")
    if step == "change":
        return _transfer_form(form)
    reader = FormReader(request.form)
    try:
        if step == "review":
            source, target, cents = _transfer_checks(reader)
            return render_template("transfer_review.html", source=source, target=target, cents=cents,
                                   key=form["key"])
        ids = {field: forms.account_id(reader, field) for field in ("from", "to")}
        cents = forms.amount(reader)
        if not reader.ok():
            _transfer_checks(FormReader(request.form))  # every problem, as the review would show them
        reader.finish()
        key = ledger.idempotency_key(form["key"] or None)
        try:
            # The ledger first: a second click on Confirm must find the first one's transfer (and
            # show its receipt), whatever the balance says by then.
            record, _ = ledger.transfer(ids["from"], ids["to"], cents, current_user, key)
        except KeyReused:
            raise  # about the form, not its fields
        except (NotFound, RuleViolation):
            _transfer_checks(FormReader(request.form))  # says which field, when it still finds it
            raise
    except KeyReused:
        form["key"] = uuid.uuid4().hex
        return _transfer_form(form, status=422, error="This transfer form was already used for another transfer, so "
                              "nothing was done. Check the fields and review the transfer again.")
    except BankError as error:
        if isinstance(error, FormProblems):
            return _transfer_form(form, problems=error.problems, status=error.status)
        return _transfer_form(form, error=sentence(error.message), status=error.status)
    return redirect(url_for("web.transfer_receipt", transfer_id=record.transfer_id))


@blueprint.get("/transfers/<id:transfer_id>")
@staff_page()
def transfer_receipt(transfer_id):
    record = db.session.get(Transfer, transfer_id)
    if record is None:
        raise NotFound(f"transfer {transfer_id} not found")
    rows = ledger.transfer_rows(record)
    return render_template("transfer_receipt.html", transfer=record, rows=rows,
                           source=db.session.get(Account, record.from_acc_id),
                           target=db.session.get(Account, record.to_acc_id),
                           staff=db.session.get(Staff, record.staff_id))


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
    try:
        query, since, until, limit = forms.statement_query(request.args)
    except FormProblems as error:
        return render_template("statement.html", statement=None, acc_id=acc_id, problems=error.problems,
                               query=request.args), error.status
    statement = statements.build(acc_id, since, until, limit)
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

