"""The staff pages: every page renders for the roles it is for, forms carry CSRF tokens, every
problem of a submitted form is shown beside its field at once, amounts are taken as the pages show
them, a transfer is confirmed before money moves, and each role sees only its own actions."""
import io
import re
from html.parser import HTMLParser

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


class _FieldsOfPage(HTMLParser):
    """Each form field of a page: its value, and the problem sentence it points to with
    aria-describedby when it is marked aria-invalid."""

    def __init__(self):
        super().__init__()
        self.values, self.pointers, self.sentences = {}, {}, {}
        self._in = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("input", "select") and "id" in attrs:
            self.values[attrs["id"]] = attrs.get("value")
            if attrs.get("aria-invalid") == "true":
                self.pointers[attrs["id"]] = attrs["aria-describedby"]
        if tag == "p" and attrs.get("class") == "problem":
            self._in = attrs["id"]
            self.sentences[self._in] = ""

    def handle_data(self, data):
        if self._in:
            self.sentences[self._in] += data

    def handle_endtag(self, tag):
        if tag == "p":
            self._in = None


def fields_of(response):
    parser = _FieldsOfPage()
    parser.feed(text(response))
    return parser


def problems(response):
    """{field id: the sentence shown beside it} for every field the page marks as wrong."""
    page = fields_of(response)
    return {field: page.sentences[pointer] for field, pointer in page.pointers.items()}


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
    ("ssn_id", "12", "SSN id must be exactly 9 digits."),
    ("ssn_id", "１２３４５６７８９", "SSN id must be exactly 9 digits."),
    ("age", "two", "Age must be a whole number from 0 to 150."),
    ("name", "", "Name is required."),
    ("city", "Ock\u202eham", "City must be printable text; it contains U+202E."),
])
def test_a_bad_customer_form_is_shown_again_with_the_problem_beside_the_field(desk, field, value, message):
    browser = desk["executive"]
    browser.get("/customers/new")
    fields = {"ssn_id": "222333445", "name": "Kept Name", "address": "Somewhere", "age": "40", "state": "S", "city": "C",
              field: value}
    page = browser.submit("/customers/new", **fields)
    assert page.status_code == 400
    assert problems(page) == {field: message}
    assert "Please correct the field marked below." in text(page)
    assert fields_of(page).values["address"] == "Somewhere"


def test_every_problem_of_a_customer_form_is_shown_at_once(desk, executive):
    browser = desk["executive"]
    browser.get("/customers/new")
    page = browser.submit("/customers/new", ssn_id="12345", name="", address="1 Hill St", age="two", state="Surrey",
                          city="")
    assert page.status_code == 400
    assert problems(page) == {"ssn_id": "SSN id must be exactly 9 digits.", "name": "Name is required.",
                              "age": "Age must be a whole number from 0 to 150.", "city": "City is required."}
    assert "Please correct the 4 fields marked below." in text(page)
    assert fields_of(page).values["ssn_id"] == "12345" and fields_of(page).values["state"] == "Surrey"
    assert executive.get("/api/v1/customers/110110000").status_code == 404


def test_a_bad_edit_is_shown_again_and_changes_nothing(desk, executive, new_customer):
    customer = new_customer()
    browser = desk["executive"]
    browser.get(f"/customers/{customer['cust_id']}/edit")
    page = browser.submit(f"/customers/{customer['cust_id']}/edit", name="New Name", address="", age="-3", state="S",
                          city="C")
    assert page.status_code == 400
    assert problems(page) == {"age": "Age must be a whole number from 0 to 150.", "address": "Address is required."}
    assert executive.get(f"/api/v1/customers/{customer['cust_id']}").json["name"] == customer["name"]


def test_a_duplicate_ssn_id_on_the_form_is_a_409_beside_the_field(desk, new_customer):
    new_customer(ssn_id="777888999")
    browser = desk["executive"]
    browser.get("/customers/new")
    page = browser.submit("/customers/new", ssn_id="777888999", name="X", address="Y", age="30", state="S", city="C")
    assert page.status_code == 409
    assert problems(page) == {"ssn_id": "A customer with this SSN id already exists."}


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


@pytest.mark.parametrize("fields, expected, status", [
    ({"cust_id": "abc", "type": "savings"},
     {"cust_id": "Customer id must be a number in digits, such as 110110000."}, 400),
    ({"cust_id": "110110000", "type": "gold"}, {"type": "Type must be one of savings, current."}, 400),
    ({"cust_id": "", "type": "gold"}, {"cust_id": "Customer id is required.",
                                       "type": "Type must be one of savings, current."}, 400),
    ({"cust_id": "110119999", "type": "savings"}, {"cust_id": "There is no customer 110119999."}, 404),
])
def test_a_bad_account_form_is_shown_again_with_the_problems(desk, new_customer, fields, expected, status):
    new_customer()
    browser = desk["executive"]
    browser.get("/accounts/new")
    page = browser.submit("/accounts/new", **fields)
    assert page.status_code == status
    assert problems(page) == expected


def test_an_account_for_a_deactivated_customer_is_refused_beside_the_customer_id(desk, executive, new_customer):
    customer = new_customer()
    executive.delete(f"/api/v1/customers/{customer['cust_id']}")
    browser = desk["executive"]
    browser.get("/accounts/new")
    page = browser.submit("/accounts/new", cust_id=str(customer["cust_id"]), type="savings")
    assert page.status_code == 422
    assert problems(page) == {
        "cust_id": f"Customer {customer['cust_id']} is deactivated; reactivate the customer first."}


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
    assert page.status_code == 422
    assert problems(page) == {"withdraw-amount": f"Account {account['acc_id']} holds only 12.50."}
    assert fields_of(page).values["withdraw-amount"] == "20.00" and fields_of(page).values["deposit-amount"] == ""
    page = browser.submit(f"/accounts/{account['acc_id']}/withdraw", amount="0")
    assert page.status_code == 400
    assert problems(page) == {"withdraw-amount": "Amount must be more than 0.00."}
    page = browser.submit(f"/accounts/{account['acc_id']}/withdraw", amount="12.50")
    assert "Withdrew 12.50. New balance 0.00." in text(page)


@pytest.mark.parametrize("typed, cents_text", [
    ("1,000.00", "1,000.00"), ("1,000", "1,000.00"), ("1000.5", "1,000.50"), ("2,500.75", "2,500.75"),
])
def test_the_money_forms_take_amounts_as_the_pages_show_them(desk, teller, new_account, typed, cents_text):
    account = new_account(deposit="5,000.00".replace(",", ""))
    browser = desk["teller"]
    browser.get(f"/accounts/{account['acc_id']}")
    page = browser.submit(f"/accounts/{account['acc_id']}/deposit", amount=typed)
    assert f"Deposited {cents_text}." in text(page)
    page = browser.submit(f"/accounts/{account['acc_id']}/withdraw", amount=typed)
    assert f"Withdrew {cents_text}. New balance 5,000.00." in text(page)


@pytest.mark.parametrize("typed, sentence", [
    ("1,00.0", "Amount has commas in the wrong places: they go between groups of three digits, as in 1,000,000.00."),
    ("1,0000", "Amount has commas in the wrong places: they go between groups of three digits, as in 1,000,000.00."),
    (",100", "Amount has commas in the wrong places: they go between groups of three digits, as in 1,000,000.00."),
    ("１,０００.００", "Amount must be typed with the digits 0 to 9 (it has digits of another script or keyboard layout)."),
    ("1,000.001", "Amount must have at most two decimals (cents), as in 12.50."),
    ("1,000.", "Amount must have one or two digits after the decimal point, as in 12.50."),
    ("-5.00", "Amount must be more than 0.00, with no sign (the form says which way the money goes)."),
    (" 5.00", "Amount must not have spaces before or after it."),
    ("five", "Amount must be an amount such as 1,250.00 or 1250.00."),
    ("", "Amount is required."),
    ("1,000,000,000.01", "Amount must be at most 1,000,000,000.00."),
])
def test_a_mistyped_amount_is_explained_beside_it_and_moves_nothing(desk, teller, new_account, typed, sentence):
    account = new_account(deposit="10.00")
    browser = desk["cashier"]
    browser.get(f"/accounts/{account['acc_id']}")
    for which in ("deposit", "withdraw"):
        page = browser.submit(f"/accounts/{account['acc_id']}/{which}", amount=typed)
        assert page.status_code == 400
        assert problems(page) == {f"{which}-amount": sentence}
        assert fields_of(page).values[f"{which}-amount"] == typed
        assert 'id="balance">10.00<' in text(page)
    assert teller.get(f"/api/v1/accounts/{account['acc_id']}").json["balance"] == "10.00"


def test_a_deposit_form_submitted_twice_moves_the_money_once(desk, teller, new_account):
    account = new_account(deposit="10.00")
    browser = desk["cashier"]
    page = text(browser.get(f"/accounts/{account['acc_id']}"))
    keys = re.findall(r'name="key" value="([0-9a-f]{32})"', page)
    assert len(set(keys)) == 2  # one for the deposit form, one for the withdrawal form
    for _ in range(2):
        browser.submit(f"/accounts/{account['acc_id']}/deposit", amount="5.00", key=keys[0])
    assert teller.get(f"/api/v1/accounts/{account['acc_id']}").json["balance"] == "15.00"


def _key(page):
    return re.search(r'name="key" value="([0-9a-f]{32})"', text(page)).group(1)


def test_a_transfer_is_reviewed_with_both_holders_before_money_moves_then_receipted(desk, teller, new_customer,
                                                                                    new_account):
    ada, grace = new_customer(name="Ada Lovelace")["cust_id"], new_customer(name="Grace Hopper")["cust_id"]
    source, target = new_account(deposit="1500.00", cust_id=ada), new_account(deposit="0.00", cust_id=grace)
    browser = desk["teller"]
    form = browser.get(f"/transfer?from={source['acc_id']}")
    fields = {"from": str(source["acc_id"]), "to": str(target["acc_id"]), "amount": "1,234.50", "key": _key(form)}
    review = browser.submit("/transfer", **fields)
    assert review.status_code == 200
    table = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text(review)))
    assert f"From {source['acc_id']} Ada Lovelace ({ada}) savings 1,500.00 265.50" in table
    assert f"To {target['acc_id']} Grace Hopper ({grace}) savings 0.00 1,234.50" in table
    assert "Amount 1,234.50" in table and "belong to different customers" in table
    assert teller.get(f"/api/v1/accounts/{source['acc_id']}").json["balance"] == "1500.00"  # nothing moved yet

    confirm = {**fields, "amount": "1,234.50", "step": "confirm"}
    done = browser.submit("/transfer", follow=False, **confirm)
    assert done.status_code == 302 and re.fullmatch(r"/transfers/\d+", done.headers["Location"])
    receipt = text(browser.get(done.headers["Location"]))
    assert "1,234.50" in receipt and "Ada Lovelace" in receipt and "Grace Hopper" in receipt
    assert "balance after 265.50" in receipt and "balance after 1,234.50" in receipt
    assert teller.get(f"/api/v1/accounts/{source['acc_id']}").json["balance"] == "265.50"
    # A second click on Confirm finds the first transfer and shows its receipt; nothing moves twice.
    again = browser.submit("/transfer", follow=False, **confirm)
    assert again.headers["Location"] == done.headers["Location"]
    assert teller.get(f"/api/v1/accounts/{source['acc_id']}").json["balance"] == "265.50"


def test_change_on_the_review_goes_back_to_the_filled_form(desk, teller, new_account):
    source, target = new_account(deposit="50.00"), new_account(deposit="0.00")
    browser = desk["cashier"]
    key = _key(browser.get("/transfer"))
    page = browser.submit("/transfer", step="change", key=key, **{"from": str(source["acc_id"]),
                                                                  "to": str(target["acc_id"]), "amount": "20.00"})
    assert page.status_code == 200
    values = fields_of(page).values
    assert (values["from"], values["to"], values["amount"]) == (str(source["acc_id"]), str(target["acc_id"]), "20.00")
    assert _key(page) == key
    assert teller.get(f"/api/v1/accounts/{source['acc_id']}").json["balance"] == "50.00"


def test_the_transfer_form_offers_the_customers_accounts_by_holder_and_type(desk, new_customer, new_account):
    ada = new_customer(name="Ada Lovelace")["cust_id"]
    savings = new_account(deposit="10.00", cust_id=ada)
    current = new_account(deposit="0.00", cust_id=ada, type="current")
    other = new_account(deposit="0.00")
    browser = desk["teller"]
    for url in (f"/transfer?from={savings['acc_id']}", f"/transfer?cust_id={ada}"):
        page = text(browser.get(url))
        offered = re.findall(r'<option value="(\d+)" label="([^"]+)"', page)
        assert offered == [(str(savings["acc_id"]), "Ada Lovelace · savings · 10.00"),
                           (str(current["acc_id"]), "Ada Lovelace · current · 0.00")], url
        assert 'list="customer-accounts"' in page
        assert str(other["acc_id"]) not in page
    customer_page = text(browser.get(f"/customers/{ada}"))
    assert f'href="/transfer?cust_id={ada}"' in customer_page
    assert browser.get("/transfer?cust_id=abc").status_code == 400
    assert browser.get("/transfer?cust_id=110119999").status_code == 404


@pytest.mark.parametrize("change, expected, status", [
    ({"to": "x"}, {"to": "To account must be a number in digits, such as 360110000."}, 400),
    ({"amount": "1,00"}, {"amount": "Amount has commas in the wrong places: they go between groups of three digits, "
                                    "as in 1,000,000.00."}, 400),
    ({"amount": "500.00"}, {"amount": "Account {from} holds only 50.00."}, 422),
    ({"to": "360199999"}, {"to": "There is no account 360199999."}, 404),
    ({"to": "{from}"}, {"to": "This is the account the money comes from; a transfer needs two accounts."}, 422),
    ({"from": "", "to": "360199999", "amount": "0"},
     {"from": "From account is required.",
      "to": "There is no account 360199999.", "amount": "Amount must be more than 0.00."}, 400),
])
def test_a_refused_transfer_shows_every_problem_beside_its_field_and_keeps_what_was_typed(
        desk, teller, new_account, change, expected, status):
    source, target = new_account(deposit="50.00"), new_account(deposit="0.00")
    browser = desk["cashier"]
    browser.get("/transfer")
    fields = {"from": str(source["acc_id"]), "to": str(target["acc_id"]), "amount": "5.00"}
    fields.update({k: v.format(**{"from": source["acc_id"]}) for k, v in change.items()})
    for step in ("review", "confirm"):
        page = browser.submit("/transfer", step=step, **fields)
        assert page.status_code == status, step
        assert problems(page) == {k: v.format(**{"from": source["acc_id"]}) for k, v in expected.items()}, step
        assert fields_of(page).values["from"] == fields["from"]
    assert teller.get(f"/api/v1/accounts/{source['acc_id']}").json["balance"] == "50.00"


def test_a_closed_account_is_named_beside_its_field(desk, executive, new_account):
    source, target = new_account(deposit="50.00"), new_account(deposit="0.00")
    executive.delete(f"/api/v1/accounts/{target['acc_id']}")
    browser = desk["teller"]
    browser.get("/transfer")
    page = browser.submit("/transfer", **{"from": str(source["acc_id"]), "to": str(target["acc_id"]), "amount": "1.00"})
    assert page.status_code == 422
    assert problems(page) == {"to": f"Account {target['acc_id']} is closed; money cannot move to or from it."}


def test_a_transfer_form_used_for_another_transfer_moves_nothing_and_says_so(desk, teller, new_account):
    source, target = new_account(deposit="50.00"), new_account(deposit="0.00")
    browser = desk["teller"]
    key = _key(browser.get("/transfer"))
    accounts = {"from": str(source["acc_id"]), "to": str(target["acc_id"])}
    assert browser.submit("/transfer", follow=False, step="confirm", key=key, amount="10.00", **accounts).status_code == 302
    page = browser.submit("/transfer", step="confirm", key=key, amount="11.00", **accounts)
    assert page.status_code == 422
    assert "This transfer form was already used for another transfer, so nothing was done." in text(page)
    assert _key(page) != key
    assert teller.get(f"/api/v1/accounts/{source['acc_id']}").json["balance"] == "40.00"


def test_a_receipt_is_readable_by_every_role_and_unknown_ones_are_404(desk, teller, new_account):
    source, target = new_account(deposit="50.00"), new_account(deposit="0.00")
    moved = teller.post("/api/v1/transfers", json={"from": source["acc_id"], "to": target["acc_id"], "amount": "5.00"})
    for browser in desk.values():
        page = browser.get(f"/transfers/{moved.json['transfer_id']}")
        assert page.status_code == 200 and "balance after 45.00" in text(page)
    assert desk["teller"].get("/transfers/999999").status_code == 404


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


def test_a_bad_statement_period_is_explained_beside_each_field(desk, new_account):
    account = new_account()
    page = desk["teller"].get(f"/accounts/{account['acc_id']}/statement?since=soon&limit=0")
    assert page.status_code == 400
    assert problems(page) == {"since": "From must be a date YYYY-MM-DD or an ISO 8601 time, got 'soon'.",
                              "limit": "The number of transactions must be a whole number from 1 to 1000."}
    page = desk["teller"].get(f"/accounts/{account['acc_id']}/statement?since=2024-05-02&until=2024-05-01")
    assert problems(page) == {"until": "Until must be after From."}


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


def test_the_password_page_shows_every_problem_at_once_and_never_echoes_a_password(desk):
    browser = desk["teller"]
    browser.get("/password")
    page = browser.submit("/password", current_password="not-my-password-1", new_password="short",
                          confirm_password="different")
    assert page.status_code == 400
    assert problems(page) == {"current_password": "This is not your current password.",
                              "new_password": "New password must be at least 12 characters.",
                              "confirm_password": "This does not match the new password."}
    assert "not-my-password-1" not in text(page) and 'value="short"' not in text(page)


def test_searches_explain_a_bad_value_beside_the_search_field(desk, new_customer):
    browser = desk["teller"]
    page = browser.get("/accounts?q=abc")
    assert page.status_code == 400
    assert problems(page) == {"q": "Search by account id or customer id, in digits."}
    browser.get("/customers")
    page = browser.submit("/customers/search", ssn_id="12345")
    assert page.status_code == 400 and problems(page) == {"ssn_id": "SSN id must be exactly 9 digits."}
    page = browser.submit("/customers/search", ssn_id="999888777")
    assert page.status_code == 404 and problems(page) == {"ssn_id": "No customer has this SSN id."}
    assert "999888777" not in text(page)
