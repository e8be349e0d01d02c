"""The staff pages: every page renders for the roles it is for, forms carry CSRF tokens, bad input
is shown next to the form, and each role sees only its own actions."""
import io
import re

import pytest
from openpyxl import load_workbook

from conftest import PASSWORDS


class Browser:
    """A logged-in person: fetches pages and submits forms with the page's CSRF token."""

    def __init__(self, app, role):
        self.client = app.test_client()
        self.token = None
        page = self.get("/login")
        response = self.client.post("/login", data={"username": role, "password": PASSWORDS[role], "csrf_token": self.token})
        assert response.status_code == 302, response.get_data(as_text=True)

    def get(self, url, **kwargs):
        response = self.client.get(url, **kwargs)
        found = response.mimetype == "text/html" and re.search(r'name="csrf_token" value="([^"]+)"', text(response))
        if found:
            self.token = found.group(1)
        return response

    def submit(self, url, follow=True, **fields):
        return self.client.post(url, data={**fields, "csrf_token": self.token}, follow_redirects=follow)


def text(response):
    return response.get_data(as_text=True)


@pytest.fixture
def desk(app):
    """Browsers for each role, logged in."""
    return {role: Browser(app, role) for role in PASSWORDS}


def test_each_role_gets_a_start_page_with_its_own_actions(desk):
    executive = text(desk["executive"].get("/"))
    assert "Add a customer" in executive and "Transfer between accounts" not in executive
    for role in ("teller", "cashier"):
        page = text(desk[role].get("/"))
        assert "Transfer between accounts" in page and "Add a customer" not in page
        assert f"{role} ({role})" in page


def test_an_executive_adds_edits_deactivates_and_reactivates_a_customer(desk):
    browser = desk["executive"]
    browser.get("/customers/new")
    page = browser.submit("/customers/new", ssn_id="222333444", name="Ada Byron", address="1 Hill St", age="36",
                          state="Surrey", city="Ockham")
    assert "Customer 110110000 created." in text(page)
    assert "Ada Byron" in text(page)
    browser.get("/customers/110110000/edit")
    page = browser.submit("/customers/110110000/edit", name="Ada Lovelace", address="1 Hill St", age="37",
                          state="Surrey", city="Ockham")
    assert "Customer 110110000 updated." in text(page)
    assert "Customer updated: name, age" in text(page)
    page = browser.submit("/customers/110110000/deactivate")
    assert "Customer 110110000 deactivated." in text(page)
    assert "deactivated" in text(browser.get("/customers?status=deactivated"))
    page = browser.submit("/customers/110110000/activate")
    assert "Customer 110110000 reactivated." in text(page)


@pytest.mark.parametrize("field, value, message", [
    ("ssn_id", "12", "ssn_id: must be exactly 9 digits"),
    ("age", "two", "age: must be a whole number from 0 to 150"),
    ("name", "", "name: is required"),
])
def test_a_bad_customer_form_is_shown_again_with_the_problem(desk, field, value, message):
    browser = desk["executive"]
    browser.get("/customers/new")
    fields = {"ssn_id": "222333445", "name": "Kept Name", "address": "Somewhere", "age": "40", "state": "S", "city": "C",
              field: value}
    page = browser.submit("/customers/new", **fields)
    assert page.status_code == 400
    assert message in text(page)
    if field != "name":
        assert 'value="Kept Name"' in text(page)


def test_a_bad_edit_is_shown_again_and_changes_nothing(desk, executive, new_customer):
    customer = new_customer()
    browser = desk["executive"]
    browser.get(f"/customers/{customer['cust_id']}/edit")
    page = browser.submit(f"/customers/{customer['cust_id']}/edit", name="New Name", address="A", age="-3", state="S", city="C")
    assert page.status_code == 400
    assert "age: must be a whole number from 0 to 150" in text(page)
    assert executive.get(f"/api/v1/customers/{customer['cust_id']}").json["name"] == customer["name"]


def test_a_duplicate_ssn_id_on_the_form_is_a_409(desk, new_customer):
    new_customer(ssn_id="777888999")
    browser = desk["executive"]
    browser.get("/customers/new")
    page = browser.submit("/customers/new", ssn_id="777888999", name="X", address="Y", age="30", state="S", city="C")
    assert page.status_code == 409
    assert "ssn_id: a customer with this SSN id already exists" in text(page)


def test_an_executive_opens_closes_and_reactivates_an_account(desk, new_customer):
    customer = new_customer()
    browser = desk["executive"]
    assert f'value="{customer["cust_id"]}"' in text(browser.get(f"/accounts/new?cust_id={customer['cust_id']}"))
    page = browser.submit("/accounts/new", cust_id=str(customer["cust_id"]), type="current")
    assert "Account 360110000 opened." in text(page)
    assert "Close account" in text(page)
    page = browser.submit("/accounts/360110000/close")
    assert "Account 360110000 closed." in text(page)
    page = browser.submit("/accounts/360110000/activate")
    assert "Account 360110000 reactivated." in text(page)
    assert "Current account opened" in text(browser.get("/logs/accounts"))


@pytest.mark.parametrize("fields, message, status", [
    ({"cust_id": "abc", "type": "savings"}, "cust_id: must be a customer id", 400),
    ({"cust_id": "110110000", "type": "gold"}, "type: must be one of savings, current", 400),
    ({"cust_id": "110119999", "type": "savings"}, "customer 110119999 not found", 404),
])
def test_a_bad_account_form_is_shown_again_with_the_problem(desk, new_customer, fields, message, status):
    new_customer()
    browser = desk["executive"]
    browser.get("/accounts/new")
    page = browser.submit("/accounts/new", **fields)
    assert page.status_code == status
    assert message in text(page)


def test_closing_an_account_with_money_is_refused_on_the_page(desk, new_account):
    account = new_account(deposit="3.00")
    browser = desk["executive"]
    browser.get(f"/accounts/{account['acc_id']}")
    page = browser.submit(f"/accounts/{account['acc_id']}/close")
    assert "holds 3.00; withdraw or transfer it before closing" in text(page)


@pytest.mark.parametrize("role", ["teller", "cashier"])
def test_tellers_and_cashiers_deposit_and_withdraw_on_the_account_page(desk, new_account, role):
    account = new_account(deposit="10.00")
    browser = desk[role]
    page = browser.get(f"/accounts/{account['acc_id']}")
    assert "Deposit" in text(page) and "Close account" not in text(page)
    page = browser.submit(f"/accounts/{account['acc_id']}/deposit", amount="2.50")
    assert "Deposited 2.50. New balance 12.50." in text(page)
    page = browser.submit(f"/accounts/{account['acc_id']}/withdraw", amount="20.00")
    assert "insufficient funds: account" in text(page)
    page = browser.submit(f"/accounts/{account['acc_id']}/withdraw", amount="0")
    assert "amount: must be greater than 0.00" in text(page)
    page = browser.submit(f"/accounts/{account['acc_id']}/withdraw", amount="12.50")
    assert "Withdrew 12.50. New balance 0.00." in text(page)


def test_a_deposit_form_submitted_twice_moves_the_money_once(desk, teller, new_account):
    account = new_account(deposit="10.00")
    browser = desk["cashier"]
    page = text(browser.get(f"/accounts/{account['acc_id']}"))
    keys = re.findall(r'name="key" value="([0-9a-f]{32})"', page)
    assert len(set(keys)) == 2  # one for the deposit form, one for the withdrawal form
    for _ in range(2):
        browser.submit(f"/accounts/{account['acc_id']}/deposit", amount="5.00", key=keys[0])
    assert teller.get(f"/api/v1/accounts/{account['acc_id']}").json["balance"] == "15.00"


def test_a_transfer_form_submitted_twice_moves_the_money_once(desk, teller, new_account):
    source, target = new_account(deposit="50.00"), new_account(deposit="0.00")
    browser = desk["teller"]
    form = text(browser.get(f"/transfer?from={source['acc_id']}"))
    key = re.search(r'name="key" value="([0-9a-f]{32})"', form).group(1)
    fields = {"from": str(source["acc_id"]), "to": str(target["acc_id"]), "amount": "20.00", "key": key}
    page = browser.submit("/transfer", **fields)
    assert f"Transferred 20.00 from {source['acc_id']} to {target['acc_id']}." in text(page)
    browser.submit("/transfer", **fields)
    assert teller.get(f"/api/v1/accounts/{source['acc_id']}").json["balance"] == "30.00"


@pytest.mark.parametrize("change, message, status", [
    ({"to": "x"}, "to: must be an account id", 400),
    ({"amount": "1,00"}, "amount: must be a decimal string", 400),
    ({"amount": "500.00"}, "insufficient funds", 422),
    ({"to": "360199999"}, "account 360199999 not found", 404),
])
def test_a_refused_transfer_form_keeps_what_was_typed(desk, new_account, change, message, status):
    source, target = new_account(deposit="50.00"), new_account(deposit="0.00")
    browser = desk["cashier"]
    browser.get("/transfer")
    fields = {"from": str(source["acc_id"]), "to": str(target["acc_id"]), "amount": "5.00", **change}
    page = browser.submit("/transfer", **fields)
    assert page.status_code == status
    assert message in text(page)
    assert f'value="{source["acc_id"]}"' in text(page)


def test_the_statement_page_shows_rows_and_offers_both_downloads(desk, teller, new_account):
    account = new_account(deposit="100.00")
    teller.post(f"/api/v1/accounts/{account['acc_id']}/withdraw", json={"amount": "40.00"})
    browser = desk["cashier"]
    page = text(browser.get(f"/accounts/{account['acc_id']}/statement?limit=5"))
    assert "Deposit" in page and "Withdrawal" in page and "60.00" in page
    pdf_link = re.search(r'href="([^"]+statement\.pdf[^"]*)"', page).group(1).replace("&amp;", "&")
    xlsx_link = re.search(r'href="([^"]+statement\.xlsx[^"]*)"', page).group(1).replace("&amp;", "&")
    assert "limit=5" in pdf_link
    pdf = browser.get(pdf_link)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF-")
    sheet = load_workbook(io.BytesIO(browser.get(xlsx_link).data)).active
    assert [row[5] for row in sheet.iter_rows(min_row=9, values_only=True)] == [100.0, 60.0]


def test_a_bad_statement_period_is_explained(desk, new_account):
    account = new_account()
    page = desk["teller"].get(f"/accounts/{account['acc_id']}/statement?since=soon")
    assert page.status_code == 400
    assert "since: must be a date YYYY-MM-DD" in text(page)


def test_lists_search_and_show_status(desk, new_account):
    account = new_account(deposit="1.00")
    browser = desk["executive"]
    assert "Ada Lovelace" in text(browser.get("/customers?q=lovelace"))
    assert "No customers found." in text(browser.get("/customers?q=nobody-like-this"))
    found = browser.get(f"/accounts?q={account['acc_id']}")
    assert found.status_code == 302 and found.headers["Location"].endswith(f"/accounts/{account['acc_id']}")
    assert str(account["acc_id"]) in text(browser.get(f"/accounts?q={account['cust_id']}"))
    assert browser.get("/accounts?q=abc").status_code == 400
    status = text(browser.get("/status"))
    assert "1 active" in status
    assert "Customer created" in text(browser.get("/logs/customers"))


@pytest.mark.parametrize("role", ["teller", "cashier"])
def test_executive_pages_are_403_for_tellers_and_cashiers(desk, new_account, role):
    account = new_account(deposit="0.00")
    browser = desk[role]
    for url in ("/customers/new", "/accounts/new", "/logs/customers", "/logs/accounts", "/status",
                f"/customers/{account['cust_id']}/edit"):
        response = browser.get(url)
        assert response.status_code == 403, url
        assert "this needs the executive role" in text(response)
    for url in (f"/accounts/{account['acc_id']}/close", f"/customers/{account['cust_id']}/deactivate"):
        assert browser.submit(url, follow=False).status_code == 403


def test_money_pages_are_403_for_executives(desk, new_account):
    account = new_account()
    browser = desk["executive"]
    assert browser.get("/transfer").status_code == 403
    assert browser.submit(f"/accounts/{account['acc_id']}/deposit", follow=False, amount="1.00").status_code == 403


def test_every_role_reads_customers_accounts_and_statements(desk, new_account):
    account = new_account()
    for browser in desk.values():
        for url in (f"/customers/{account['cust_id']}", f"/accounts/{account['acc_id']}",
                    f"/accounts/{account['acc_id']}/statement", "/customers", "/accounts"):
            assert browser.get(url).status_code == 200, url


def test_unknown_customers_and_accounts_are_html_404s(desk):
    for url in ("/customers/110119999", "/accounts/360119999", "/accounts/360119999/statement"):
        response = desk["teller"].get(url)
        assert response.status_code == 404
        assert "Not found" in text(response)


def test_long_lists_are_paged_by_fifty(app, desk):
    from bank.database import db
    from bank.models import Customer

    with app.app_context():
        db.session.add_all(Customer(ssn_id=f"{500000000 + n}", name=f"Paged {n}", address="A", age=30, state="S",
                                    city="C") for n in range(51))
        db.session.commit()
    browser = desk["executive"]
    first = text(browser.get("/customers"))
    assert first.count("Paged ") == 50 and ">Next<" in first and ">Previous<" not in first
    second = text(browser.get("/customers?page=2"))
    assert second.count("Paged ") == 1 and ">Previous<" in second and ">Next<" not in second
    assert browser.get("/customers?page=x").status_code == 400
