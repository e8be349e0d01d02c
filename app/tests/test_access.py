"""Who may ask: API tokens and session logins, lockout after failures, CSRF, cookie flags."""
import re

import pytest

from bank import create_app
from bank.database import db
from bank.models import Staff
from conftest import PASSWORDS


def csrf_token(html):
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def login(client, username, password):
    token = csrf_token(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token})


def test_the_api_without_credentials_is_a_401_asking_for_a_token(anonymous):
    response = anonymous.get("/api/v1/accounts/360110000")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "authentication required" in response.json["error"]


@pytest.mark.parametrize("authorization", ["Bearer bank_wrong", "Bearer ", "Bearer " + "bank_" + "x" * 300])
def test_a_wrong_token_is_a_401(app, authorization):
    response = app.test_client().get("/api/v1/accounts/360110000", headers={"Authorization": authorization})
    assert response.status_code == 401
    assert "this API token is not valid" in response.json["error"]


@pytest.mark.parametrize("username, password", [("teller", "wrong-password"), ("nobody", "whatever"), ("", "")])
def test_wrong_credentials_on_the_form_are_a_401(app, username, password):
    response = login(app.test_client(), username, password)
    assert response.status_code == 401
    assert "wrong username or password" in response.get_data(as_text=True)


def test_a_deactivated_staff_user_cannot_log_in_or_use_a_token(app, teller):
    with app.app_context():
        db.session.query(Staff).filter_by(username="teller").update({"active": False})
        db.session.commit()
    assert login(app.test_client(), "teller", PASSWORDS["teller"]).status_code == 401
    assert teller.get("/api/v1/accounts/360110000").status_code == 401


@pytest.mark.parametrize("username", ["teller", "no-such-user"])
def test_five_failures_lock_a_username_from_that_client_even_against_the_right_password(app, executive, username):
    client = app.test_client()
    for _ in range(5):
        assert login(client, username, "bad guess").status_code == 401
    page = login(client, username, PASSWORDS.get(username, "x"))
    assert page.status_code == 429
    assert int(page.headers["Retry-After"]) > 800
    assert "too many failed logins" in page.get_data(as_text=True)
    # Another user is not affected, nor are API tokens.
    assert login(client, "cashier", PASSWORDS["cashier"]).status_code == 302
    assert executive.get("/api/v1/customerlog").status_code == 200


def test_a_success_resets_the_failure_count(app):
    for _ in range(2):
        for _ in range(4):
            assert login(app.test_client(), "executive", "bad guess").status_code == 401
        assert login(app.test_client(), "executive", PASSWORDS["executive"]).status_code == 302


def test_the_login_form_sets_a_hardened_session_cookie(app):
    client = app.test_client()
    response = login(client, "teller", PASSWORDS["teller"])
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("bank_session=")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert client.get("/").status_code == 200


def test_the_session_cookie_is_secure_outside_development(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x" * 32)
    monkeypatch.delenv("BANK_COOKIE_SECURE", raising=False)
    monkeypatch.delenv("BANK_ENV", raising=False)
    assert create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"}).config["SESSION_COOKIE_SECURE"] is True


def test_production_refuses_to_start_without_a_secret_key(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("BANK_ENV", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    monkeypatch.setenv("BANK_ENV", "development")
    assert create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"}).config["SECRET_KEY"]


def test_a_form_post_without_the_csrf_token_is_refused(app):
    client = app.test_client()
    response = client.post("/login", data={"username": "teller", "password": PASSWORDS["teller"]})
    assert response.status_code == 400
    assert "csrf_token" in response.get_data(as_text=True)


def test_a_wrong_password_on_the_form_says_so_without_saying_which_part(app):
    client = app.test_client()
    response = login(client, "teller", "not it")
    assert response.status_code == 401
    assert "wrong username or password" in response.get_data(as_text=True)


def test_the_api_over_a_session_needs_the_csrf_header_for_changes(app, new_account):
    account = new_account(deposit="10.00")
    client = app.test_client()
    login(client, "teller", PASSWORDS["teller"])
    url = f"/api/v1/accounts/{account['acc_id']}"
    assert client.get(url).json["balance"] == "10.00"
    refused = client.post(url + "/deposit", json={"amount": "1.00"})
    assert refused.status_code == 400
    assert refused.json["error"].startswith("csrf_token: ")
    token = csrf_token(client.get("/").get_data(as_text=True))
    accepted = client.post(url + "/deposit", json={"amount": "1.00"}, headers={"X-CSRFToken": token})
    assert accepted.status_code == 200
    assert accepted.json["balance"] == "11.00"


def test_logout_ends_the_session(app):
    client = app.test_client()
    login(client, "cashier", PASSWORDS["cashier"])
    token = csrf_token(client.get("/").get_data(as_text=True))
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/").status_code == 302
    assert client.get("/api/v1/accounts/1").status_code == 401


@pytest.mark.parametrize("target, lands", [("/accounts", "/accounts"), ("https://evil.example/", "/"), ("//evil.example/x", "/")])
def test_after_login_only_local_pages_are_followed(app, target, lands):
    client = app.test_client()
    token = csrf_token(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"username": "teller", "password": PASSWORDS["teller"], "next": target,
                                           "csrf_token": token})
    assert response.headers["Location"] == lands


def test_pages_ask_for_a_login_first(app):
    response = app.test_client().get("/accounts")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_passwords_are_stored_as_bcrypt_hashes(app):
    with app.app_context():
        stored = db.session.query(Staff).filter_by(username="teller").one().password_hash
    assert stored.startswith("$2b$")
    assert PASSWORDS["teller"] not in stored


def test_a_password_is_not_an_api_credential(app):
    import base64

    basic = base64.b64encode(f"teller:{PASSWORDS['teller']}".encode()).decode()
    response = app.test_client().get("/api/v1/accounts/360110000", headers={"Authorization": f"Basic {basic}"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "send an API token" in response.json["error"]
