"""A person's walk through the pages in a real browser: Debian's Chromium, driven by playwright (from
the test lock; its own browser downloads are never used), against gunicorn on SQLite. An executive
creates a customer (a form with two mistakes shows both beside their fields first) and two (empty)
accounts, a teller deposits the opening cash typed as the pages show money ("1,000.00"), transfers
after a review of both holders and gets a receipt, the statement shows it and downloads as PDF and
spreadsheet, a large deposit waits until a second teller approves it. And the README's screenshots,
retaken by their script (docs/screenshots.py)."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook

from chromium import CHROMIUM, launch_chromium
from servers import Gunicorn, app_env, flask_cli

APP = Path(__file__).resolve().parents[1]
PASSWORDS = {"exec1": ("executive", "exec-walkthrough-1"), "teller1": ("teller", "teller-walkthrough-1"),
             "teller2": ("teller", "second-desk-walkthrough-2")}


@pytest.fixture
def server(tmp_path):
    env = app_env(f"sqlite:///{tmp_path / 'bank.sqlite'}")
    flask_cli(env, "migrate")
    for username, (role, password) in PASSWORDS.items():
        flask_cli(env, "create-staff", username, role, input_text=password + "\n")
    server = Gunicorn(env, workers=2).start()
    yield server
    server.stop()


@pytest.fixture
def page():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} not found: install the Debian package chromium", pytrace=False)
    with launch_chromium() as browser:
        context = browser.new_context(accept_downloads=True)
        page = context.new_page()
        page.set_default_timeout(60_000)  # CI machines are shared; a slow page is not a failure
        yield page


def flashed(page, pattern):
    """The flash message matching `pattern` on the page the last submit led to (waits for it)."""
    message = page.locator("p.flash", has_text=pattern).first
    try:
        message.wait_for()
    except Exception:
        shown = " | ".join(page.locator("p.flash").all_inner_texts()) or "no message"
        raise AssertionError(f"no flash matching {pattern!r}: page {page.url} shows {shown}") from None
    return message.inner_text()


def problem_beside(page, label, scope=None):
    """The problem shown for the field labelled `label`: the element its aria-describedby names, which
    must be visible and sit right under the field. Returns its text."""
    field = (scope or page).get_by_label(label, exact=True)
    assert field.get_attribute("aria-invalid") == "true", f"{label}: the field is not marked invalid"
    problem = page.locator(f"#{field.get_attribute('aria-describedby')}")
    assert problem.is_visible(), f"{label}: its problem is not shown"
    box, under = field.bounding_box(), problem.bounding_box()
    assert box["y"] + box["height"] - 1 <= under["y"] < box["y"] + box["height"] + 30 and abs(under["x"] - box["x"]) < 30, \
        f"{label}: the problem does not sit right under the field"
    return problem.inner_text().strip()


def balance(page):
    return page.locator("#balance").inner_text().strip()


def log_in(page, base, username):
    page.goto(f"{base}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORDS[username][1])
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/")
    assert username in page.locator("header").inner_text()


def log_out(page):
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(re.compile(r"/login"))


def test_an_executive_and_a_teller_work_through_the_pages(server, page, tmp_path):
    base = server.url

    # The executive: a customer, a savings and a current account, both empty (money enters as cash).
    log_in(page, base, "exec1")
    page.get_by_role("link", name="New customer").click()
    for label, value in (("SSN id", "42424242"), ("Name", "Katherine Johnson"), ("Address", "1 Langley Way"),
                         ("Age", "forty-one"), ("State", "Virginia"), ("City", "Hampton")):
        page.get_by_label(label).fill(value)
    page.get_by_role("button", name="Create customer").click()
    # Both mistakes come back at once, each beside its own field; what was typed is kept.
    flashed(page, "Please correct the 2 fields marked below.")
    assert problem_beside(page, "SSN id (9 digits)") == "SSN id must be exactly 9 digits."
    assert problem_beside(page, "Age") == "Age must be a whole number from 0 to 150."
    assert page.locator("p.problem").count() == 2, "only the two wrong fields are marked"
    assert page.get_by_label("Name").input_value() == "Katherine Johnson", "what was typed is kept"
    page.get_by_label("SSN id").fill("424242424")
    page.get_by_label("Age").fill("41")
    page.get_by_role("button", name="Create customer").click()
    cust_id = re.search(r"\d+", flashed(page, re.compile(r"Customer \d+ created"))).group(0)

    accounts = []
    for kind in ("savings", "current"):
        page.goto(f"{base}/customers/{cust_id}")
        page.get_by_role("link", name="Open an account").click()
        assert page.get_by_label("Customer id").input_value() == cust_id, "the account form knows the customer"
        page.get_by_label("Type").select_option(kind)
        page.get_by_role("button", name="Open account").click()
        accounts.append(re.search(r"\d+", flashed(page, re.compile(r"Account \d+ opened"))).group(0))
    savings, current = accounts
    assert balance(page) == "0.00", "the current account starts empty"
    log_out(page)

    # The teller: finds the account, takes the opening 1,000.00 (typed with its comma, as the pages
    # show money) and another 50.00; mistyped amounts are explained beside the field and move nothing.
    log_in(page, base, "teller1")
    page.get_by_label("Account or customer id").fill(savings)
    page.get_by_role("button", name="Find").first.click()
    page.wait_for_url(f"{base}/accounts/{savings}")
    deposit_form = page.locator("form#deposit")
    for amount, shown, after in (("1,000.00", "1,000.00", "1,000.00"), ("50", "50.00", "1,050.00")):
        deposit_form.get_by_label("Amount").fill(amount)
        deposit_form.get_by_role("button", name="Deposit").click()
        flashed(page, f"Deposited {shown}. New balance {after}.")
    assert balance(page) == "1,050.00"
    for typed, problem in (("1,00.0", "Amount has commas in the wrong places"),
                           ("１,０００.００", "Amount must be typed with the digits 0 to 9")):
        deposit_form.get_by_label("Amount").fill(typed)
        deposit_form.get_by_role("button", name="Deposit").click()
        flashed(page, "Please correct the field marked below.")
        assert problem_beside(page, "Amount", deposit_form).startswith(problem), typed
        assert deposit_form.get_by_label("Amount").input_value() == typed, f"{typed} stays in the field to correct"
        assert balance(page) == "1,050.00", f"{typed} moved nothing"

    # A transfer: the form offers the customer's accounts by holder and type, a review shows both
    # accounts' holders and the amount before any money moves, and a receipt follows.
    page.get_by_role("link", name="Transfer from this account").click()
    assert page.get_by_label("From account").input_value() == savings, "the transfer form starts from the account"
    assert page.get_by_label("To account").get_attribute("list") == "customer-accounts", "the To field has suggestions"
    offered = page.locator("#customer-accounts option").evaluate_all(
        "options => options.map(o => `${o.value} ${o.label}`)")
    assert f"{savings} Katherine Johnson · savings · 1,050.00" in offered
    assert f"{current} Katherine Johnson · current · 0.00" in offered
    page.get_by_label("To account").fill(current)
    page.get_by_label("Amount").fill("30.00")
    page.get_by_role("button", name="Review transfer").click()
    page.get_by_role("heading", name="Confirm the transfer").wait_for()
    review = page.locator("#review").inner_text()
    assert re.search(rf"From\s+{savings}\s+Katherine Johnson \({cust_id}\)\s+savings\s+1,050.00\s+1,020.00", review), review
    assert re.search(rf"To\s+{current}\s+Katherine Johnson \({cust_id}\)\s+current\s+0.00\s+30.00", review), review
    assert page.locator("#amount").inner_text().strip() == "30.00"
    page.get_by_role("button", name="Confirm transfer of 30.00").click()
    page.wait_for_url(re.compile(r"/transfers/\d+$"))
    receipt = page.locator("#receipt").inner_text()
    for expected in ("30.00", f"{savings},", f"{current},", "balance after 1,020.00", "balance after 30.00", "teller1"):
        assert expected in receipt, f"the receipt shows {expected}"
    page.get_by_role("link", name=f"Back to account {savings}").click()
    assert balance(page) == "1,020.00"

    # A refused withdrawal says why beside the amount and changes nothing.
    withdraw_form = page.locator("form#withdraw")
    withdraw_form.get_by_label("Amount").fill("5,000.00")
    withdraw_form.get_by_role("button", name="Withdraw").click()
    assert problem_beside(page, "Amount", withdraw_form) == f"Account {savings} holds only 1,020.00."
    assert balance(page) == "1,020.00", "the balance is unchanged"

    # The statement: on screen, then both downloads.
    page.get_by_label("or last").fill("10")
    page.get_by_role("button", name="Show statement").click()
    table = page.locator("#statement").inner_text()
    for expected in ("Deposit", f"Transfer out (to {current})", "1,000.00", "1,050.00", "1,020.00"):
        assert expected in table, f"the statement shows {expected}"
    assert page.locator("#closing").inner_text().strip() == "1,020.00"

    downloads = {}
    for link, magic, suffix in (("Download PDF", b"%PDF-", "pdf"), ("Download spreadsheet", b"PK", "xlsx")):
        with page.expect_download() as download_info:
            page.get_by_role("link", name=link).click()
        download = download_info.value
        assert download.suggested_filename == f"statement-{savings}.{suffix}"
        downloads[suffix] = tmp_path / download.suggested_filename
        download.save_as(downloads[suffix])
        assert downloads[suffix].read_bytes().startswith(magic), f"the {suffix} file is a real {suffix}"
    # The spreadsheet the browser downloaded holds its balances as numbers, shown with two decimals.
    sheet = load_workbook(downloads["xlsx"]).active
    heading = {row[0].value: row[1] for row in sheet.iter_rows(max_row=6)}
    assert (heading["Opening balance"].value, heading["Closing balance"].value) == (0, 1020)
    assert {heading[k].number_format for k in ("Opening balance", "Closing balance")} == {"#,##0.00"}

    # The teller sees only the last four digits of the customer's SSN id.
    page.goto(f"{base}/customers/{cust_id}")
    card = page.locator("dl.card").inner_text()
    assert "*****2424" in card and "424242424" not in card, "the teller sees a masked SSN id"

    # A large deposit waits for a second person; the teller who asked cannot approve it.
    page.goto(f"{base}/accounts/{savings}")
    deposit_form.get_by_label("Amount").fill("25,000.00")
    deposit_form.get_by_role("button", name="Deposit").click()
    asked = flashed(page, re.compile(r"awaits a second person's approval \(request \d+\)"))
    request = re.search(r"request (\d+)", asked).group(1)
    assert balance(page) == "1,020.00", "the balance waits too"
    page.get_by_role("link", name="Approvals").click()
    assert page.locator("#pending").get_by_role("button", name="Approve").count() == 0, \
        "the teller who asked is offered no Approve button"
    log_out(page)

    log_in(page, base, "teller2")
    page.get_by_role("link", name="Approvals").click()
    row = page.locator("#pending tr", has_text="25,000.00")
    assert "teller1" in row.inner_text(), "the second teller sees who asked"
    row.get_by_role("button", name="Approve").click()
    flashed(page, f"Request {request} approved.")
    assert balance(page) == "26,020.00", "the approved deposit is in the balance"
    log_out(page)


def test_the_readme_screenshots_are_retaken_by_the_script_in_the_repository(tmp_path):
    """The PNGs the README shows are the ones app/docs/screenshots.py takes, and stay small."""
    readme = (APP / "README.md").read_text()
    shown = set(re.findall(r"\(docs/screenshots/([a-z-]+\.png)\)", readme))
    committed = {p.name for p in (APP / "docs" / "screenshots").glob("*.png")}
    assert shown and shown == committed
    for name in committed:
        assert (APP / "docs" / "screenshots" / name).stat().st_size < 120_000, name
    result = subprocess.run([sys.executable, str(APP / "docs" / "screenshots.py"), str(tmp_path)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    taken = {p.name for p in tmp_path.iterdir()}
    assert taken == committed
    for name in taken:
        assert (tmp_path / name).read_bytes().startswith(b"\x89PNG\r\n\x1a\n"), name
