"""The app tried as an attacker would (issue 17): each class of weakness with several variants.

Every test here failed on the release before these fixes; each class says what the app promises.
"""
import base64
import http.server
import io
import re
import socket
import threading
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import bcrypt
import pytest
import requests
from openpyxl import load_workbook

from bank import create_app
from bank.database import db
from bank.models import Customer, Staff
from bank.staff import create_staff
from conftest import PASSWORDS
from servers import Gunicorn, app_env, flask_cli
from test_api_history import pdf_text


def csrf_token(html):
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def log_in(client, username, password, next_target=None, **environ):
    extra = {"environ_base": environ} if environ else {}
    token = csrf_token(client.get("/login", **extra).get_data(as_text=True))
    form = {"username": username, "password": password, "csrf_token": token}
    if next_target is not None:
        form["next"] = next_target
    return client.post("/login", data=form, **extra)


def session_cookie(response):
    """The bank_session value a response sets."""
    for header in response.headers.getlist("Set-Cookie"):
        if header.startswith("bank_session="):
            return header.split(";", 1)[0].split("=", 1)[1]
    raise AssertionError(f"no session cookie in {response.headers.getlist('Set-Cookie')}")


def with_cookie(app, cookie, **environ):
    """A second browser that presents a copied session cookie (and nothing else of the first)."""
    client = app.test_client(use_cookies=False)

    def get(url):
        extra = {"environ_base": environ} if environ else {}
        return client.get(url, headers={"Cookie": f"bank_session={cookie}"}, **extra)

    return get


class Desk:
    """A staff member logged in through the form; submits forms and API calls with the CSRF token."""

    def __init__(self, app, username, password):
        self.client = app.test_client()
        response = log_in(self.client, username, password)
        assert response.status_code == 302, response.get_data(as_text=True)
        self.token = csrf_token(self.client.get("/").get_data(as_text=True))

    def get(self, url, **kwargs):
        response = self.client.get(url, **kwargs)
        found = response.mimetype == "text/html" and re.search(
            r'name="csrf_token" value="([^"]+)"', response.get_data(as_text=True))
        if found:
            self.token = found.group(1)
        return response

    def submit(self, url, follow=True, **fields):
        return self.client.post(url, data={**fields, "csrf_token": self.token}, follow_redirects=follow)

    def api(self, method, url, **kwargs):
        return self.client.open(url, method=method, headers={"X-CSRFToken": self.token}, **kwargs)


def add_staff(app, username, role, password):
    with app.app_context():
        create_staff(username, role, password)
        db.session.remove()


def text(response):
    return response.get_data(as_text=True)


def drawn_strings(pdf):
    """The strings a PDF draws, joined: reportlab splits a line into several Tj strings at markup
    entities, and escapes parentheses and backslashes inside them."""
    parts = re.findall(r"\(((?:\\.|[^\\)])*)\) Tj", pdf_text(pdf))
    return "".join(re.sub(r"\\(.)", r"\1", part) for part in parts)


# --- 1. markup in PDF statements --------------------------------------------------------------

class _Recorder(http.server.BaseHTTPRequestHandler):
    hits = []

    def do_GET(self):  # noqa: N802 (the stdlib's name)
        _Recorder.hits.append(self.path)
        self.send_response(404)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def listener():
    """A loopback HTTP server that records every request a statement might make the app send."""
    _Recorder.hits = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class TestPdfStatementsEscapeMarkup:
    NAMES = [
        '<img src="{url}/pixel.png" width="9" height="9"/>',
        '<a href="{url}/pay">Pay here</a>',
        "Smith <Jr",
        "O'Brien & <b>Sons</b> </para>",
        '<font color="red" face="Courier">Red</font>',
        '<link href="{url}/x">x</link> &amp; &lt;',
        '<img src="/etc/hostname"/>',
    ]

    @pytest.mark.parametrize("name", NAMES)
    def test_customer_text_is_printed_as_written_and_nothing_is_fetched(self, executive, teller, new_account,
                                                                        listener, name):
        name = name.format(url=listener)
        customer_id = executive.post("/api/v1/customers", json={
            "ssn_id": "431000000", "name": name, "address": "A", "age": 40, "state": "S", "city": "C"}).json["cust_id"]
        account = new_account(deposit="5.00", cust_id=customer_id)
        for speaker in (executive, teller):
            response = speaker.get(f"/api/v1/accounts/{account['acc_id']}/statement.pdf")
            assert response.status_code == 200, response.json
            assert f"Customer: {name} ({customer_id})" in drawn_strings(response.data)
            assert b"/URI" not in response.data and b"/Link" not in response.data
        assert _Recorder.hits == []

    def test_the_page_download_escapes_too(self, app, executive, new_account, listener):
        name = f'<img src="{listener}/web.png"/> Smith <Jr'
        cust_id = executive.post("/api/v1/customers", json={
            "ssn_id": "431000001", "name": name, "address": "A", "age": 40, "state": "S", "city": "C"}).json["cust_id"]
        account = new_account(deposit="1.00", cust_id=cust_id)
        desk = Desk(app, "executive", PASSWORDS["executive"])
        response = desk.get(f"/accounts/{account['acc_id']}/statement.pdf")
        assert response.status_code == 200
        assert name in drawn_strings(response.data)
        assert _Recorder.hits == []


# --- 2. sessions revocable on the server ----------------------------------------------------

class TestSessionsAreRevocable:
    def test_a_copied_cookie_dies_with_logout(self, app):
        desk = Desk(app, "teller", PASSWORDS["teller"])
        login = log_in(app.test_client(), "teller", PASSWORDS["teller"])
        cookie = session_cookie(login)
        elsewhere = with_cookie(app, cookie)
        assert elsewhere("/").status_code == 200
        # The same person's other browser logs out: only that session ends...
        assert desk.submit("/logout", follow=False).status_code == 302
        assert elsewhere("/").status_code == 200
        # ...while the copied cookie's own session, once logged out, is dead everywhere.
        first = app.test_client()
        cookie = session_cookie(log_in(first, "cashier", PASSWORDS["cashier"]))
        token = csrf_token(text(first.get("/")))
        assert first.post("/logout", data={"csrf_token": token}).status_code == 302
        replay = with_cookie(app, cookie)
        assert replay("/").status_code == 302
        assert replay("/api/v1/accounts/360110000").status_code == 401

    @pytest.mark.parametrize("command", ["reset-password", "disable-staff"])
    def test_a_password_reset_or_disabling_ends_every_session(self, app, command, monkeypatch):
        cookies = [session_cookie(log_in(app.test_client(), "teller", PASSWORDS["teller"])) for _ in range(2)]
        assert all(with_cookie(app, c)("/").status_code == 200 for c in cookies)
        monkeypatch.setenv("BANK_STAFF_PASSWORD", "a-fresh-long-passphrase-9")
        result = app.test_cli_runner().invoke(args=[command, "teller"])
        assert result.exit_code == 0, result.output
        assert all(with_cookie(app, c)("/").status_code == 302 for c in cookies)

    def test_changing_ones_own_password_ends_the_other_sessions(self, app):
        other = session_cookie(log_in(app.test_client(), "cashier", PASSWORDS["cashier"]))
        desk = Desk(app, "cashier", PASSWORDS["cashier"])
        desk.get("/password")
        page = desk.submit("/password", current_password=PASSWORDS["cashier"],
                           new_password="brand-new-passphrase-77", confirm_password="brand-new-passphrase-77")
        assert "Password changed" in text(page)
        assert desk.get("/").status_code == 200
        assert with_cookie(app, other)("/").status_code == 302

    def test_the_password_page_counts_wrong_current_passwords_against_the_limits(self, app):
        desk = Desk(app, "cashier", PASSWORDS["cashier"])
        desk.get("/password")
        for n in range(5):
            page = desk.submit("/password", current_password=f"guess {n}", new_password="brand-new-passphrase-77",
                               confirm_password="brand-new-passphrase-77")
            assert page.status_code == 401
            assert 'id="current_password-problem">This is not your current password.<' in text(page)
        locked = desk.submit("/password", current_password=PASSWORDS["cashier"],
                             new_password="brand-new-passphrase-77", confirm_password="brand-new-passphrase-77")
        assert locked.status_code == 429

    def test_activity_does_not_outlive_the_absolute_lifetime(self, app, monkeypatch):
        monkeypatch.setitem(app.config, "SESSION_ABSOLUTE_LIFETIME", timedelta(seconds=2))
        desk = Desk(app, "teller", PASSWORDS["teller"])
        deadline = time.monotonic() + 2.5
        while time.monotonic() < deadline:
            desk.get("/")
            time.sleep(0.2)
        assert desk.get("/").status_code == 302

    def test_an_idle_session_ends(self, app, monkeypatch):
        monkeypatch.setitem(app.config, "SESSION_IDLE_TIMEOUT", timedelta(seconds=1))
        desk = Desk(app, "teller", PASSWORDS["teller"])
        assert desk.get("/").status_code == 200
        time.sleep(1.5)
        assert desk.get("/").status_code == 302

    @pytest.mark.parametrize("elsewhere", [{"HTTP_USER_AGENT": "curl/8.0"}, {"REMOTE_ADDR": "203.0.113.9"}])
    def test_a_cookie_replayed_from_another_client_is_refused(self, app, elsewhere):
        cookie = session_cookie(log_in(app.test_client(), "executive", PASSWORDS["executive"]))
        assert with_cookie(app, cookie)("/").status_code == 200
        assert with_cookie(app, cookie, **elsewhere)("/").status_code == 302
        # and the session it tried is ended for the owner too
        assert with_cookie(app, cookie)("/").status_code == 302

    def test_the_cookie_lasts_only_while_the_browser_is_open(self, app):
        header = log_in(app.test_client(), "teller", PASSWORDS["teller"]).headers["Set-Cookie"]
        assert "Expires" not in header and "Max-Age" not in header


# --- 3. money is created only by cash, and large credits need a second person ---------------

class TestMoneyNeedsCashAndASecondPerson:
    @pytest.mark.parametrize("deposit", ["1000000000.00", "0.01"])
    def test_an_executive_cannot_open_an_account_with_money(self, executive, new_customer, deposit):
        customer = new_customer()
        response = executive.post("/api/v1/accounts", json={"cust_id": customer["cust_id"], "type": "savings",
                                                            "deposit": deposit})
        assert response.status_code == 422
        assert response.json["error"].startswith("deposit: ")
        assert executive.get(f"/api/v1/customers/{customer['cust_id']}").json["accounts"] == []

    def test_an_account_opens_empty_and_its_first_money_is_a_tellers_deposit(self, executive, teller, new_customer):
        customer = new_customer()
        account = executive.post("/api/v1/accounts", json={"cust_id": customer["cust_id"], "type": "savings"}).json
        assert account["balance"] == "0.00"
        teller.post(f"/api/v1/accounts/{account['acc_id']}/deposit", json={"amount": "25.00"})
        rows = teller.get(f"/api/v1/accounts/{account['acc_id']}/transactions").json["transactions"]
        assert [(r["kind"], r["amount"]) for r in rows] == [("deposit", "25.00")]

    def test_the_account_form_has_no_opening_deposit(self, app, new_customer):
        desk = Desk(app, "executive", PASSWORDS["executive"])
        page = text(desk.get(f"/accounts/new?cust_id={new_customer()['cust_id']}"))
        assert 'name="deposit"' not in page

    @pytest.mark.parametrize("amount", ["1000000000.00", "10000.01"])
    def test_a_deposit_above_the_limit_waits_for_a_second_person(self, app, teller, executive, new_account, amount):
        account = new_account(deposit="0.00")
        url = f"/api/v1/accounts/{account['acc_id']}"
        asked = teller.post(url + "/deposit", json={"amount": amount}, headers={"Idempotency-Key": "big-1"})
        assert asked.status_code == 202, asked.json
        assert asked.json["status"] == "pending" and asked.json["amount"] == amount
        approval = asked.json["approval_id"]
        again = teller.post(url + "/deposit", json={"amount": amount}, headers={"Idempotency-Key": "big-1"})
        assert again.json["approval_id"] == approval
        assert teller.get(url).json["balance"] == "0.00"
        # The one who asked cannot approve; nor can an executive; another teller can, once.
        mine = teller.post(f"/api/v1/approvals/{approval}/approve")
        assert mine.status_code == 403 and "asked for it" in mine.json["error"]
        assert executive.post(f"/api/v1/approvals/{approval}/approve").status_code == 403
        add_staff(app, "teller2", "teller", "second-teller-passphrase")
        second = Desk(app, "teller2", "second-teller-passphrase")
        pending = second.api("GET", "/api/v1/approvals?status=pending").json["approvals"]
        assert [a["approval_id"] for a in pending] == [approval]
        done = second.api("POST", f"/api/v1/approvals/{approval}/approve")
        assert done.status_code == 200, done.json
        assert done.json["status"] == "approved" and done.json["balance"] == amount
        assert second.api("POST", f"/api/v1/approvals/{approval}/approve").status_code == 422
        assert teller.get(url).json["balance"] == amount
        log = [e for e in executive.get("/api/v1/accountlog").json if e["acc_id"] == account["acc_id"]]
        assert [e["action"] for e in log][:2] == ["approved", "approval_asked"]
        assert "teller2" == log[0]["staff"] and "asked by teller" in log[0]["message"]

    def test_a_rejected_deposit_moves_nothing(self, app, cashier, executive, new_account):
        account = new_account(deposit="0.00")
        approval = cashier.post(f"/api/v1/accounts/{account['acc_id']}/deposit",
                                json={"amount": "50000.00"}).json["approval_id"]
        add_staff(app, "teller3", "teller", "third-teller-passphrase")
        answer = Desk(app, "teller3", "third-teller-passphrase").api("POST", f"/api/v1/approvals/{approval}/reject")
        assert answer.status_code == 200 and answer.json["status"] == "rejected"
        assert cashier.get(f"/api/v1/accounts/{account['acc_id']}").json["balance"] == "0.00"
        actions = [e["action"] for e in executive.get("/api/v1/accountlog").json if e["acc_id"] == account["acc_id"]]
        assert actions[0] == "rejected"

    def test_the_limit_is_configurable(self, app, teller, new_account, monkeypatch):
        monkeypatch.setitem(app.config, "APPROVAL_LIMIT_CENTS", 100)
        account = new_account(deposit="0.00")
        assert teller.post(f"/api/v1/accounts/{account['acc_id']}/deposit", json={"amount": "1.00"}).status_code == 200
        assert teller.post(f"/api/v1/accounts/{account['acc_id']}/deposit", json={"amount": "1.01"}).status_code == 202

    def test_on_the_pages_a_second_teller_approves(self, app, new_account):
        account = new_account(deposit="0.00")
        maker = Desk(app, "teller", PASSWORDS["teller"])
        maker.get(f"/accounts/{account['acc_id']}")
        page = maker.submit(f"/accounts/{account['acc_id']}/deposit", amount="20000.00")
        assert "awaits a second person" in text(page)
        assert 'id="balance">0.00<' in text(page)
        own = text(maker.get("/approvals"))
        assert "20,000.00" in own and "Approve" not in own
        add_staff(app, "teller4", "teller", "fourth-teller-passphrase")
        checker = Desk(app, "teller4", "fourth-teller-passphrase")
        listing = text(checker.get("/approvals"))
        number = re.search(r'action="/approvals/(\d+)/approve"', listing).group(1)
        page = checker.submit(f"/approvals/{number}/approve")
        assert f"Request {number} approved" in text(page)
        assert 'id="balance">20,000.00<' in text(checker.get(f"/accounts/{account['acc_id']}"))


# --- 4. formula injection in spreadsheets ---------------------------------------------------

class TestSpreadsheetsHoldText:
    VALUES = ['=HYPERLINK("http://evil.example/","Click")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(1,2)",
              "\t=1+1", "\r=1+1", "=1+1"]

    @pytest.mark.parametrize("value", VALUES)
    def test_a_customer_value_is_never_a_formula(self, app, teller, new_account, value):
        account = new_account(deposit="1.00")
        with app.app_context():
            # Straight into the table, as older data or another writer might have it.
            db.session.get(Customer, account["cust_id"]).name = value
            db.session.commit()
        response = teller.get(f"/api/v1/accounts/{account['acc_id']}/statement.xlsx")
        assert response.status_code == 200
        with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
            sheet_xml = archive.read("xl/worksheets/sheet1.xml").decode()
        assert "<f>" not in sheet_xml and "<f " not in sheet_xml
        sheet = load_workbook(io.BytesIO(response.data)).active
        cells = {row[0].value: row[1] for row in sheet.iter_rows(max_row=6)}
        assert cells["Customer"].data_type == "s"
        # XML reads a carriage return in text back as a line feed; the text is the point here.
        assert cells["Customer"].value.replace("\r", "\n") == f"{value} ({account['cust_id']})".replace("\r", "\n")


# --- 5. open redirects after login ----------------------------------------------------------

class TestLoginRedirectsStayOnSite:
    @pytest.mark.parametrize("target", [
        "/\\evil.example", "\\\\evil.example", "/\\/evil.example", "//evil.example", "///evil.example",
        "https://evil.example/", "http:/evil.example", "javascript:alert(1)", "\t//evil.example",
        "/\t/evil.example", "/\n/evil.example", " //evil.example", "/%5Cevil.example", "/no-such-page",
    ])
    def test_a_foreign_or_unknown_target_lands_on_the_start_page(self, app, target):
        response = log_in(app.test_client(), "teller", PASSWORDS["teller"], next_target=target)
        assert response.status_code == 302
        assert response.headers["Location"] == "/"

    @pytest.mark.parametrize("target", ["/accounts", "/accounts?status=closed", "/customers/110110000"])
    def test_the_apps_own_pages_are_followed(self, app, target):
        response = log_in(app.test_client(), "teller", PASSWORDS["teller"], next_target=target)
        assert response.headers["Location"] == target


# --- 6. ASCII digits only, strict amounts ---------------------------------------------------

class TestOnlyAsciiDigitsAndStrictAmounts:
    @pytest.mark.parametrize("amount", ["５", "٥.00", "１０.50", "5\u0660", "²", " 5", "5 ", " 5.00 ", "+5", "-5",
                                        "5.", "5\n", "\t5", ".5", "5.000", "1e2", "0x10", "5_000", "5,00"])
    def test_an_amount_is_refused_naming_the_field(self, teller, new_account, amount):
        account = new_account(deposit="10.00")
        for operation in ("deposit", "withdraw"):
            response = teller.post(f"/api/v1/accounts/{account['acc_id']}/{operation}", json={"amount": amount})
            assert response.status_code == 400, (amount, response.json)
            assert response.json["error"].startswith("amount: ")
        assert teller.get(f"/api/v1/accounts/{account['acc_id']}").json["balance"] == "10.00"

    # The pages take "1,000.00" as they show it; commas anywhere else, and other digits, stay refused.
    @pytest.mark.parametrize("amount", ["５", "１,０００.００", "1,000.٠٠", " 5", "5.", "+5", "1,00.0", "1,0000", "1,,000",
                                        "1.000,00", "5,00"])
    def test_the_deposit_form_refuses_them_too(self, app, new_account, amount):
        account = new_account(deposit="10.00")
        desk = Desk(app, "teller", PASSWORDS["teller"])
        desk.get(f"/accounts/{account['acc_id']}")
        response = desk.submit(f"/accounts/{account['acc_id']}/deposit", amount=amount)
        assert response.status_code == 400
        assert re.search(r'id="deposit-amount-problem">Amount (must|has) ', text(response))
        assert 'id="balance">10.00<' in text(response)

    @pytest.mark.parametrize("ssn", ["１２３４５６７８９", "١٢٣٤٥٦٧٨٩", "12345678٩", "123456789\n"])
    def test_an_ssn_id_in_other_digits_is_refused_and_duplicates_nothing(self, executive, ssn):
        base = {"name": "A", "address": "B", "age": 40, "state": "S", "city": "C"}
        assert executive.post("/api/v1/customers", json={**base, "ssn_id": "123456789"}).status_code == 201
        response = executive.post("/api/v1/customers", json={**base, "ssn_id": ssn})
        assert response.status_code == 400
        assert response.json["error"] == "ssn_id: must be exactly 9 digits"

    @pytest.mark.parametrize("body, field", [
        ({"age": "٤٠"}, "age"), ({"age": "４０"}, "age"), ({"age": "4\u00b2"}, "age"),
    ])
    def test_ages_take_ascii_digits_only(self, executive, new_customer, body, field):
        customer = new_customer()
        response = executive.patch(f"/api/v1/customers/{customer['cust_id']}", json=body)
        assert response.status_code == 400 and response.json["error"].startswith(f"{field}: ")

    @pytest.mark.parametrize("field", ["from", "to"])
    def test_account_ids_take_ascii_digits_only(self, teller, new_account, field):
        a, b = new_account(deposit="5.00"), new_account(deposit="5.00")
        body = {"from": str(a["acc_id"]), "to": str(b["acc_id"]), "amount": "1.00"}
        body[field] = "".join(chr(0xFF10 + int(d)) for d in str(body[field]))
        response = teller.post("/api/v1/transfers", json=body)
        assert response.status_code == 400 and response.json["error"].startswith(f"{field}: ")

    def test_the_transfer_form_takes_ascii_ids_only(self, app, new_account):
        a, b = new_account(deposit="5.00"), new_account(deposit="5.00")
        desk = Desk(app, "cashier", PASSWORDS["cashier"])
        desk.get("/transfer")
        wide = "".join(chr(0xFF10 + int(d)) for d in str(b["acc_id"]))
        page = desk.submit("/transfer", **{"from": str(a["acc_id"]), "to": wide, "amount": "1.00"})
        assert page.status_code == 400 and 'id="to-problem">To account must be a number in digits' in text(page)

    @pytest.mark.parametrize("query", ["limit=５", "since=２０２４-01-01", "limit=1٠"])
    def test_statement_queries_take_ascii_digits_only(self, teller, new_account, query):
        account = new_account(deposit="5.00")
        response = teller.get(f"/api/v1/accounts/{account['acc_id']}/transactions?{query}")
        assert response.status_code == 400


# --- 7. request size limit -------------------------------------------------------------------

class TestBodiesAreCapped:
    def test_a_large_form_post_is_refused(self, app):
        response = app.test_client().post("/login", data={"username": "x" * (2 << 20), "password": "y"})
        assert response.status_code == 413

    def test_a_large_json_body_is_refused_as_json(self, executive):
        response = executive.post("/api/v1/customers", json={"name": "x" * (1 << 20)})
        assert response.status_code == 413
        assert response.json["error"].startswith("body: ")

    def test_the_limit_is_configured(self, app):
        assert 0 < app.config["MAX_CONTENT_LENGTH"] <= 1 << 20


# --- 8. login throttling and API tokens ----------------------------------------------------------

def basic(username, password):
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


def form_login(app, username, password, address="192.0.2.10"):
    return log_in(app.test_client(), username, password, REMOTE_ADDR=address)


class TestLoginThrottling:
    def test_guessing_one_user_from_one_client_locks_only_that_client_out(self, app):
        for _ in range(5):
            assert form_login(app, "teller", "bad guess", "192.0.2.1").status_code == 401
        assert form_login(app, "teller", PASSWORDS["teller"], "192.0.2.1").status_code == 429
        # The staff member at their own desk still gets in: five requests no longer lock anyone out.
        assert form_login(app, "teller", PASSWORDS["teller"], "192.0.2.2").status_code == 302

    def test_spraying_many_users_from_one_client_is_stopped(self, app):
        limit = app.config["LOGIN_CLIENT_MAX_FAILURES"]
        for n in range(limit):
            assert form_login(app, f"user{n:03d}", "Summer2024!", "192.0.2.3").status_code == 401
        refused = form_login(app, "executive", PASSWORDS["executive"], "192.0.2.3")
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
        assert form_login(app, "executive", PASSWORDS["executive"], "192.0.2.4").status_code == 302

    def test_spraying_from_many_clients_hits_the_global_limit(self, app, monkeypatch):
        monkeypatch.setitem(app.config, "LOGIN_GLOBAL_MAX_FAILURES", 8)
        for n in range(8):
            assert form_login(app, f"user{n}", "Winter2024!", f"198.51.100.{n + 1}").status_code == 401
        assert form_login(app, "cashier", PASSWORDS["cashier"], "198.51.100.200").status_code == 429

    def test_guessing_one_user_from_many_clients_locks_that_username(self, app, monkeypatch):
        monkeypatch.setitem(app.config, "LOGIN_USER_MAX_FAILURES", 6)
        for n in range(6):
            assert form_login(app, "executive", "guess-%d" % n, f"198.51.100.{n + 1}").status_code == 401
        assert form_login(app, "executive", PASSWORDS["executive"], "198.51.100.99").status_code == 429
        assert form_login(app, "teller", PASSWORDS["teller"], "198.51.100.99").status_code == 302

    def test_the_client_is_the_address_the_load_balancer_saw(self, app):
        behind = create_app({**{k: app.config[k] for k in (
            "SQLALCHEMY_DATABASE_URI", "SECRET_KEY", "BCRYPT_ROUNDS", "SESSION_COOKIE_SECURE", "TESTING", "DB_SSL_MODE")},
            "PROXY_HOPS": 1})
        client = behind.test_client()
        for n in range(5):
            token = csrf_token(text(client.get("/login")))
            forwarded = {"X-Forwarded-For": f"10.9.9.{n}, 192.0.2.77"}  # the first part is the client's own say
            response = client.post("/login", data={"username": "teller", "password": "bad", "csrf_token": token},
                                   headers=forwarded)
            assert response.status_code == 401
        token = csrf_token(text(client.get("/login")))
        locked = client.post("/login", data={"username": "teller", "password": PASSWORDS["teller"],
                                             "csrf_token": token}, headers={"X-Forwarded-For": "192.0.2.77"})
        assert locked.status_code == 429


class TestApiTokens:
    def test_machines_use_tokens_and_no_request_runs_bcrypt(self, app, teller, monkeypatch):
        calls = []
        real = bcrypt.checkpw
        monkeypatch.setattr(bcrypt, "checkpw", lambda *a: calls.append(1) or real(*a))
        assert teller.get("/api/v1/accounts/360199999").status_code == 404
        client = app.test_client()
        for headers in (basic("teller", PASSWORDS["teller"]), basic("nobody", "x"),
                        {"Authorization": "Bearer bank_not-a-real-token"}, {"Authorization": "Bearer "}):
            response = client.get("/api/v1/accounts/360199999", headers=headers)
            assert response.status_code == 401
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert "API token" in client.get("/api/v1/accounts/1", headers=basic("teller", "x")).json["error"]
        assert calls == []

    def test_a_token_is_made_by_a_command_shown_once_and_can_be_revoked(self, app):
        runner = app.test_cli_runner()
        made = runner.invoke(args=["create-token", "cashier", "--name", "reconciliation job"])
        assert made.exit_code == 0, made.output
        token = re.search(r"\b(bank_[A-Za-z0-9_-]{40,})\b", made.output).group(1)
        token_id = re.search(r"token (\d+)", made.output).group(1)
        headers = {"Authorization": f"Bearer {token}"}
        client = app.test_client()
        assert client.get("/api/v1/accounts/360199999", headers=headers).status_code == 404
        with app.app_context():
            stored = db.session.execute(db.text("SELECT token_hash FROM api_tokens")).scalars().all()
        assert token not in " ".join(stored)
        listed = runner.invoke(args=["list-tokens"]).output
        assert f"{token_id}\tcashier\treconciliation job\t" in listed and "\tactive" in listed
        assert token not in listed
        assert runner.invoke(args=["revoke-token", token_id]).exit_code == 0
        assert client.get("/api/v1/accounts/360199999", headers=headers).status_code == 401
        assert "revoked" in runner.invoke(args=["list-tokens"]).output
        assert "token: no API token 999" in runner.invoke(args=["revoke-token", "999"]).output

    def test_a_disabled_staff_members_tokens_stop_working(self, app, cashier):
        assert cashier.get("/api/v1/accounts/360199999").status_code == 404
        assert app.test_cli_runner().invoke(args=["disable-staff", "cashier"]).exit_code == 0
        assert cashier.get("/api/v1/accounts/360199999").status_code == 401


# --- 9. SSN ids: masked by role, searched without URLs ------------------------------------------

class TestSsnIdsAreMaskedAndSearchedByPost:
    def test_tellers_and_cashiers_see_the_last_four_digits(self, app, executive, teller, cashier, new_customer):
        customer = new_customer(ssn_id="987654321")
        assert executive.get(f"/api/v1/customers/{customer['cust_id']}").json["ssn_id"] == "987654321"
        for role, speaker in (("teller", teller), ("cashier", cashier)):
            assert speaker.get(f"/api/v1/customers/{customer['cust_id']}").json["ssn_id"] == "*****4321"
            desk = Desk(app, role, PASSWORDS[role])
            for url in (f"/customers/{customer['cust_id']}", "/customers"):
                page = text(desk.get(url))
                assert "987654321" not in page and "*****4321" in page
        page = text(Desk(app, "executive", PASSWORDS["executive"]).get(f"/customers/{customer['cust_id']}"))
        assert "987654321" in page

    def test_a_search_by_ssn_id_is_a_post_and_finds_the_customer(self, app, new_customer):
        customer = new_customer(ssn_id="876543210")
        desk = Desk(app, "teller", PASSWORDS["teller"])
        for url in ("/", "/customers"):
            form = re.search(r'<form[^>]*action="/customers/search"[^>]*>', text(desk.get(url))).group(0)
            assert 'method="post"' in form
        found = desk.submit("/customers/search", follow=False, ssn_id="876543210")
        assert found.status_code == 302
        assert found.headers["Location"] == f"/customers/{customer['cust_id']}"
        missing = desk.submit("/customers/search", ssn_id="111111111")
        assert "No customer has this SSN id" in text(missing)
        assert "111111111" not in missing.request.url

    def test_a_query_string_never_searches_by_ssn_id(self, app, new_customer):
        new_customer(ssn_id="765432109")
        desk = Desk(app, "executive", PASSWORDS["executive"])
        page = text(desk.get("/customers?q=765432109"))
        assert "No customers found." in page and "Ada Lovelace" not in page


# --- 10. one rule for the audit logs ----------------------------------------------------------

class TestAuditLogsAreForExecutives:
    @pytest.mark.parametrize("role", ["teller", "cashier"])
    def test_customer_and_account_pages_hide_the_log_from_other_roles(self, app, new_account, role):
        account = new_account(deposit="1.00")
        desk = Desk(app, role, PASSWORDS[role])
        for url in (f"/customers/{account['cust_id']}", f"/accounts/{account['acc_id']}"):
            page = text(desk.get(url))
            assert "Customer created" not in page and "account opened" not in page
            assert " log</h2>" not in page
        boss = Desk(app, "executive", PASSWORDS["executive"])
        assert "Customer created" in text(boss.get(f"/customers/{account['cust_id']}"))
        assert "account opened" in text(boss.get(f"/accounts/{account['acc_id']}"))


# --- 11. odd input is a 400 (or 404), never a 500 -------------------------------------------

class TestOddInputIsRefusedNotCrashed:
    @pytest.mark.parametrize("url, status", [
        ("/customers?q=%C2%B2", 200), ("/customers?q=99999999999999999999", 400), ("/customers?page=%C2%B2", 400),
        ("/customers?page=99999999999999999999", 400), ("/accounts?q=%C2%B2", 400),
        ("/accounts?q=99999999999999999999", 400), ("/accounts?page=%C2%B3", 400),
    ])
    def test_odd_search_and_paging_values(self, app, url, status):
        # "²" is no customer id, so it is looked for in names (and found in none).
        response = Desk(app, "teller", PASSWORDS["teller"]).get(url)
        assert response.status_code == status, (url, response.status_code)

    @pytest.mark.parametrize("query", [
        "limit=%C2%B2", "until=9999-12-31", "since=0001-01-01T00:00:00%2B14:00",
        "until=9999-12-31T23:59:59-14:00", "since=0001-01-01", "since=9999-12-31T23:59:59.999999",
    ])
    def test_odd_statement_ranges(self, teller, new_account, query):
        account = new_account(deposit="1.00")
        for kind in ("transactions", "statement.pdf", "statement.xlsx"):
            response = teller.get(f"/api/v1/accounts/{account['acc_id']}/{kind}?{query}")
            assert response.status_code == 400, (kind, query, response.status_code)

    def test_odd_log_limits(self, executive):
        for url in ("/api/v1/customerlog?limit=%C2%B2", "/api/v1/accountlog?limit=%C2%B9%C2%B2"):
            assert executive.get(url).status_code == 400

    @pytest.mark.parametrize("path", ["/api/v1/accounts/99999999999999999999", "/api/v1/customers/99999999999999999999",
                                      "/api/v1/accounts/99999999999999999999/transactions"])
    def test_twenty_digit_ids(self, teller, path):
        assert teller.get(path).status_code == 404

    def test_twenty_digit_ids_on_pages(self, app):
        desk = Desk(app, "teller", PASSWORDS["teller"])
        assert desk.get("/accounts/99999999999999999999").status_code == 404
        assert desk.get("/customers/99999999999999999999").status_code == 404

    @pytest.mark.parametrize("body", ['{"ssn_id": "123456789", "name": "\\ud800", "address": "a", "age": 4, '
                                      '"state": "s", "city": "c"}',
                                      '{"ssn_id": "123456789", "name": "a\\u0000b", "address": "a", "age": 4, '
                                      '"state": "s", "city": "c"}',
                                      "[" * 5000 + "]" * 5000])
    def test_odd_json(self, executive, body):
        response = executive.post("/api/v1/customers", data=body, headers={"Content-Type": "application/json"})
        assert response.status_code == 400, response.json

    def test_a_stored_hash_bcrypt_cannot_read_is_a_failed_login(self, app):
        with app.app_context():
            db.session.add(Staff(username="legacy", role="teller", password_hash="!" * 60, active=True))
            db.session.commit()
        assert form_login(app, "legacy", "anything-at-all").status_code == 401


# --- 12. headers ----------------------------------------------------------------------------------

class TestHeaders:
    def test_every_kind_of_answer_carries_the_security_headers(self, app, teller, new_account):
        account = new_account(deposit="1.00")
        desk = Desk(app, "teller", PASSWORDS["teller"])
        answers = [app.test_client().get("/login"), app.test_client().get("/health"), desk.get("/"),
                   desk.get("/nowhere"), teller.get(f"/api/v1/accounts/{account['acc_id']}"),
                   desk.get(f"/accounts/{account['acc_id']}/statement.pdf"),
                   desk.get(f"/accounts/{account['acc_id']}/statement.xlsx"),
                   teller.get(f"/api/v1/accounts/{account['acc_id']}/statement.pdf"),
                   teller.get(f"/api/v1/accounts/{account['acc_id']}/statement.xlsx")]
        for response in answers:
            hsts = response.headers.get("Strict-Transport-Security", "")
            assert int(re.search(r"max-age=(\d+)", hsts).group(1)) >= 31536000
            assert "camera=()" in response.headers.get("Permissions-Policy", "")
            assert "Server" not in response.headers
        for statement in answers[-4:]:
            assert statement.headers["Cache-Control"] == "no-store"


# --- 13. passwords and staff commands -------------------------------------------------------------

class TestPasswordsAndStaffCommands:
    @pytest.mark.parametrize("password", ["aaaaaaaaaaaa", "123456789012", "password1234", "Password123!",
                                          "qwertyuiop12", "P@ssw0rd2024", "abcabcabcabc", "iloveyou1234",
                                          "olga-is-my-name", "1q2w3e4r5t6y", "zzzzzzzzzzzzzzzzz1"])
    def test_common_and_breached_style_passwords_are_refused(self, app, monkeypatch, password):
        monkeypatch.setenv("BANK_STAFF_PASSWORD", password)
        result = app.test_cli_runner().invoke(args=["create-staff", "olga", "cashier"])
        assert result.exit_code == 1
        assert "password: " in result.output and password not in result.output

    def test_the_list_is_shipped_with_the_app(self):
        from bank import passwords

        assert passwords.COMMON_PASSWORDS_FILE.is_file()
        assert len(passwords.common_passwords()) > 3000

    def test_reset_password_sets_a_new_one_from_stdin(self, app, monkeypatch):
        monkeypatch.delenv("BANK_STAFF_PASSWORD", raising=False)
        result = app.test_cli_runner().invoke(args=["reset-password", "teller"], input="new-counter-passphrase-5\n")
        assert result.exit_code == 0, result.output
        assert "new-counter-passphrase-5" not in result.output
        assert form_login(app, "teller", PASSWORDS["teller"]).status_code == 401
        assert form_login(app, "teller", "new-counter-passphrase-5", "192.0.2.50").status_code == 302

    def test_disable_and_enable_staff(self, app):
        runner = app.test_cli_runner()
        assert runner.invoke(args=["disable-staff", "teller"]).exit_code == 0
        assert form_login(app, "teller", PASSWORDS["teller"]).status_code == 401
        assert runner.invoke(args=["enable-staff", "teller"]).exit_code == 0
        assert form_login(app, "teller", PASSWORDS["teller"], "192.0.2.51").status_code == 302
        unknown = runner.invoke(args=["disable-staff", "nobody"])
        assert unknown.exit_code == 1 and "username: no staff user 'nobody'" in unknown.output

    @pytest.mark.parametrize("rounds", [4, 5])
    def test_unknown_users_cost_the_configured_bcrypt_rounds(self, app, monkeypatch, rounds):
        monkeypatch.setitem(app.config, "BCRYPT_ROUNDS", rounds)
        seen = []
        real = bcrypt.checkpw
        monkeypatch.setattr(bcrypt, "checkpw", lambda password, stored: seen.append(stored) or real(password, stored))
        assert form_login(app, "no-such-person", "whatever-it-is").status_code == 401
        assert [s[:7] for s in seen] == [f"$2b${rounds:02d}$".encode()]


# --- the security settings -------------------------------------------------------------------------

class TestSecuritySettings:
    def test_the_defaults(self, monkeypatch):
        monkeypatch.setenv("SECRET_KEY", "x" * 32)
        for name in ("BANK_APPROVAL_LIMIT", "BANK_PROXY_HOPS", "BANK_MAX_BODY_BYTES", "BANK_SESSION_IDLE_MINUTES",
                     "BANK_SESSION_HOURS", "BANK_LOGIN_GLOBAL_LIMIT", "BANK_HSTS_SECONDS", "DATABASE_URL"):
            monkeypatch.delenv(name, raising=False)
        config = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"}).config
        assert config["APPROVAL_LIMIT_CENTS"] == 10_000_00 and config["PROXY_HOPS"] == 0
        assert config["MAX_CONTENT_LENGTH"] == 65536 and config["HSTS_SECONDS"] == 31536000
        assert config["SESSION_IDLE_TIMEOUT"] == timedelta(minutes=30)
        assert config["SESSION_ABSOLUTE_LIFETIME"] == timedelta(hours=10)

    def test_they_are_read_from_the_environment(self, monkeypatch):
        monkeypatch.setenv("SECRET_KEY", "x" * 32)
        for name, value in {"BANK_APPROVAL_LIMIT": "2500.50", "BANK_PROXY_HOPS": "1", "BANK_MAX_BODY_BYTES": "1024",
                            "BANK_SESSION_IDLE_MINUTES": "5", "BANK_SESSION_HOURS": "2"}.items():
            monkeypatch.setenv(name, value)
        config = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"}).config
        assert (config["APPROVAL_LIMIT_CENTS"], config["PROXY_HOPS"], config["MAX_CONTENT_LENGTH"]) == (250050, 1, 1024)
        assert config["SESSION_IDLE_TIMEOUT"] == timedelta(minutes=5)

    @pytest.mark.parametrize("name, value", [("BANK_APPROVAL_LIMIT", "10,000"), ("BANK_APPROVAL_LIMIT", " 5"),
                                             ("BANK_PROXY_HOPS", "one"), ("BANK_MAX_BODY_BYTES", "-1"),
                                             ("BANK_SESSION_HOURS", "８")])
    def test_a_bad_value_stops_the_app_naming_the_variable(self, monkeypatch, name, value):
        monkeypatch.setenv("SECRET_KEY", "x" * 32)
        monkeypatch.setenv(name, value)
        with pytest.raises(RuntimeError, match=name):
            create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})


# --- through gunicorn: request limits, the Server header, the race on the failure count ------------

@pytest.fixture(scope="module")
def served(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bank-security")
    env = app_env(f"sqlite:///{folder / 'bank.sqlite'}")
    flask_cli(env, "migrate")
    flask_cli(env, "create-staff", "guarded", "teller", input_text="vault-door-phrase-8\n")
    server = Gunicorn(env, workers=4, log_path=folder / "access.log").start()
    server.access_log = folder / "access.log"
    yield server
    server.stop()
    assert "Traceback" not in server.logs(), server.logs()


def raw_request(server, head, body=b"", wait=30):
    with socket.create_connection(("127.0.0.1", server.port), timeout=wait) as connection:
        connection.sendall(head + body)
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = connection.recv(65536)
            if not chunk:
                break
            answer += chunk
    return answer.decode("latin-1")


def test_behind_the_load_balancer_the_access_log_shows_the_client_not_the_balancer(tmp_path):
    """The ALB appends the address it saw to X-Forwarded-For (after whatever the client sent): with
    BANK_PROXY_HOPS=1, as terraform/modules/app-region sets it, gunicorn's access log names that
    client; without it, the peer (here loopback, in AWS the load balancer), and a header a client
    forged changes nothing."""
    forwarded = "198.51.100.66, 203.0.113.9"  # a client's own claim, then the ALB's entry
    for hops, expected in (("1", "203.0.113.9"), ("0", "127.0.0.1")):
        folder = tmp_path / f"hops-{hops}"
        folder.mkdir()
        env = app_env(f"sqlite:///{folder / 'bank.sqlite'}", BANK_PROXY_HOPS=hops)
        flask_cli(env, "migrate")
        server = Gunicorn(env, workers=1, log_path=folder / "access.log").start()
        try:
            assert requests.get(server.url + "/health/live", headers={"X-Forwarded-For": forwarded}, timeout=30).ok
            deadline = time.monotonic() + 60
            lines = []
            while not lines and time.monotonic() < deadline:
                lines = [line for line in (folder / "access.log").read_text().splitlines() if "/health/live" in line]
                time.sleep(0.1)
        finally:
            server.stop()
        assert [line.split()[0] for line in lines] == [expected], (hops, lines)


class TestUnderGunicorn:
    def test_no_server_banner(self, served):
        for path in ("/health", "/login", "/nowhere"):
            response = requests.get(served.url + path, timeout=30)
            assert "Server" not in response.headers, response.headers

    def test_a_huge_declared_body_is_refused_before_it_is_read(self, served):
        started = time.monotonic()
        head = (b"POST /login HTTP/1.1\r\nHost: bank\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                b"Content-Length: 104857600\r\n\r\n")
        answer = raw_request(served, head, b"username=a")
        assert answer.startswith("HTTP/1.1 413"), answer[:200]
        assert time.monotonic() - started < 20

    def test_a_huge_chunked_body_is_refused(self, served):
        head = (b"POST /api/v1/customers HTTP/1.1\r\nHost: bank\r\nContent-Type: application/json\r\n"
                b"Transfer-Encoding: chunked\r\nAuthorization: Bearer bank_x\r\n\r\n")
        chunk = b"x" * 65536
        body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(40)) + b"0\r\n\r\n"
        answer = raw_request(served, head, body)
        assert answer.startswith(("HTTP/1.1 413", "HTTP/1.1 401")), answer[:200]
        json_head = head.replace(b"Authorization: Bearer bank_x\r\n", b"")
        login = json_head.replace(b"/api/v1/customers", b"/login").replace(b"application/json",
                                                                             b"application/x-www-form-urlencoded")
        assert raw_request(served, login, body).startswith("HTTP/1.1 413")

    def test_an_ssn_search_leaves_no_ssn_in_the_access_log(self, served):
        session = requests.Session()
        page = session.get(served.url + "/login", timeout=30).text
        session.post(served.url + "/login", timeout=30, data={
            "username": "guarded", "password": "vault-door-phrase-8", "csrf_token": csrf_token(page)})
        home = session.get(served.url + "/", timeout=30)
        assert home.status_code == 200 and 'action="/customers/search"' in home.text
        session.post(served.url + "/customers/search", timeout=30,
                     data={"ssn_id": "246813579", "csrf_token": csrf_token(home.text)})
        time.sleep(0.5)
        log = served.access_log.read_text()
        assert "/customers/search" in log and "246813579" not in log

    def test_parallel_guesses_do_not_get_past_the_count(self, served):
        codes = parallel_guesses(served, "guarded")
        assert codes.count(401) == 5 and codes.count(429) == 27, codes

    def test_on_mariadb_too(self, mariadb, tmp_path):
        env = app_env(mariadb.create_database("bank_security_race"))
        flask_cli(env, "migrate")
        flask_cli(env, "create-staff", "guarded", "teller", input_text="vault-door-phrase-8\n")
        server = Gunicorn(env, workers=4).start()
        try:
            codes = parallel_guesses(server, "guarded")
        finally:
            server.stop()
        assert codes.count(401) == 5 and codes.count(429) == 27, codes
        assert "Traceback" not in server.logs(), server.logs()


def parallel_guesses(server, username):
    """32 wrong passwords for one user from one client, 16 at a time: their HTTP statuses."""

    def guess(n):
        session = requests.Session()
        page = session.get(server.url + "/login", timeout=60).text
        return session.post(server.url + "/login", timeout=60, allow_redirects=False, data={
            "username": username, "password": f"wrong-{n}", "csrf_token": csrf_token(page)}).status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        return list(pool.map(guess, range(32)))
