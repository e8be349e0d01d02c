"""Fixtures: the app on SQLite and on a real MariaDB (started once per run), staff users of each
role, and API clients that speak as them (each with its own API token)."""
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import text

from bank import create_app, migrate
from bank.credentials import issue_token
from bank.database import db
from bank.models import FIRST_ACCOUNT_ID, FIRST_CUSTOMER_ID, Staff
from bank.staff import create_staff
from servers import CertificateAuthority, MariaDB, MissingTool, mariadb_for_tests

PASSWORDS = {"executive": "corner-office-ledger-1", "teller": "front-counter-till-12", "cashier": "cash-drawer-count-7"}
TABLES_CHILD_FIRST = ("approvals", "transactions", "transfers", "account_log", "customer_log", "accounts", "customers",
                      "login_limits", "login_throttle", "staff_sessions", "api_tokens", "staff")


@pytest.fixture(scope="session")
def mariadb():
    try:
        server = mariadb_for_tests()
    except MissingTool as error:
        pytest.fail(str(error), pytrace=False)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def database_ca(tmp_path_factory):
    """The CA that signs the TLS server's certificate (for the name localhost only), as an RDS CA does."""
    try:
        return CertificateAuthority(tmp_path_factory.mktemp("database-ca"), "bank test database CA")
    except MissingTool as error:
        pytest.fail(str(error), pytrace=False)


@pytest.fixture(scope="session")
def tls_mariadb(database_ca):
    """A MariaDB of its own that speaks TLS with a certificate for localhost and refuses connections
    without TLS (require_secure_transport), as the RDS parameter group makes the bank's databases do."""
    cert, key = database_ca.issue("localhost")
    try:
        server = MariaDB(tls=(database_ca.ca, cert, key))
    except MissingTool as error:
        pytest.fail(str(error), pytrace=False)
    server.start()
    yield server
    server.stop()


def _make_app(url):
    return create_app({
        "SQLALCHEMY_DATABASE_URI": url,
        "SECRET_KEY": "test-secret-key",
        "BCRYPT_ROUNDS": 4,
        "SESSION_COOKIE_SECURE": False,
        "TESTING": True,
        # The test server speaks plain text on loopback (tests/test_db_tls.py tries TLS).
        "DB_SSL_MODE": "DISABLED" if url.startswith("mysql") else None,
    })


@pytest.fixture(scope="session", params=["sqlite", "mariadb"])
def backend_app(request):
    if request.param == "sqlite":
        folder = tempfile.mkdtemp(prefix="bank-sqlite-")
        app = _make_app(f"sqlite:///{Path(folder) / 'bank.sqlite'}")
    else:
        server = request.getfixturevalue("mariadb")
        app = _make_app(server.create_database("bank_tests"))
    app.backend = request.param
    with app.app_context():
        migrate.upgrade()
    return app


def reset_database():
    session = db.session
    mysql = db.engine.dialect.name != "sqlite"
    if mysql:
        session.execute(text("SET FOREIGN_KEY_CHECKS=0"))
    for table in TABLES_CHILD_FIRST:
        session.execute(text(f"DELETE FROM {table}"))
    if mysql:
        session.execute(text("SET FOREIGN_KEY_CHECKS=1"))
        session.commit()
        session.execute(text(f"ALTER TABLE customers AUTO_INCREMENT = {FIRST_CUSTOMER_ID}"))
        session.execute(text(f"ALTER TABLE accounts AUTO_INCREMENT = {FIRST_ACCOUNT_ID}"))
    else:
        session.execute(text("DELETE FROM sqlite_sequence WHERE name NOT IN ('customers', 'accounts')"))
        session.execute(text(f"UPDATE sqlite_sequence SET seq = {FIRST_CUSTOMER_ID - 1} WHERE name = 'customers'"))
        session.execute(text(f"UPDATE sqlite_sequence SET seq = {FIRST_ACCOUNT_ID - 1} WHERE name = 'accounts'"))
    session.commit()


@pytest.fixture
def app(backend_app):
    with backend_app.app_context():
        reset_database()
        for role, password in PASSWORDS.items():
            create_staff(role, role, password)
        db.session.remove()
    yield backend_app
    with backend_app.app_context():
        db.session.remove()


class Speaker:
    """A test client that sends every request as one staff user, with an API token of its own."""

    def __init__(self, app, username=None):
        self.client = app.test_client()
        self.headers = {}
        if username:
            with app.app_context():
                staff = db.session.query(Staff).filter_by(username=username).one()
                _, token = issue_token(staff, f"tests: {username}")
                db.session.remove()
            self.headers["Authorization"] = f"Bearer {token}"

    def _send(self, method, url, headers=None, **kwargs):
        return self.client.open(url, method=method, headers={**self.headers, **(headers or {})}, **kwargs)

    def get(self, url, **kwargs):
        return self._send("GET", url, **kwargs)

    def post(self, url, **kwargs):
        return self._send("POST", url, **kwargs)

    def patch(self, url, **kwargs):
        return self._send("PATCH", url, **kwargs)

    def delete(self, url, **kwargs):
        return self._send("DELETE", url, **kwargs)


@pytest.fixture
def executive(app):
    return Speaker(app, "executive")


@pytest.fixture
def teller(app):
    return Speaker(app, "teller")


@pytest.fixture
def cashier(app):
    return Speaker(app, "cashier")


@pytest.fixture
def anonymous(app):
    return Speaker(app)


_ssn_counter = iter(range(100000000, 999999999))


@pytest.fixture
def new_customer(executive):
    """Creates a customer through the API and returns its JSON."""

    def create(**fields):
        body = {"ssn_id": str(next(_ssn_counter)), "name": "Ada Lovelace", "address": "12 St James's Square",
                "age": 36, "state": "London", "city": "Westminster", **fields}
        response = executive.post("/api/v1/customers", json=body)
        assert response.status_code == 201, response.json
        return response.json

    return create


@pytest.fixture
def new_account(app, executive, new_customer):
    """Opens an account (for a new customer unless cust_id is given); a cashier of its own deposits
    `deposit` into it, as the customer's first cash. Returns the account's JSON."""
    desk = {}

    def open_(deposit="100.00", type="savings", cust_id=None):
        if cust_id is None:
            cust_id = new_customer()["cust_id"]
        response = executive.post("/api/v1/accounts", json={"cust_id": cust_id, "type": type})
        assert response.status_code == 201, response.json
        account = response.json
        if deposit not in ("0.00", "0", ""):
            if "cashier" not in desk:
                with app.app_context():
                    create_staff("opening-cashier", "cashier", "first-cash-in-desk")
                    db.session.remove()
                desk["cashier"] = Speaker(app, "opening-cashier")
            paid = desk["cashier"].post(f"/api/v1/accounts/{account['acc_id']}/deposit", json={"amount": deposit})
            assert paid.status_code == 200, paid.json
            account = {**account, "balance": paid.json["balance"]}
        return account

    return open_
