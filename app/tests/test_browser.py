"""A person's walk through the pages in a real browser: Debian's Chromium, driven by playwright (from
the test lock; its own browser downloads are never used), against gunicorn on SQLite. An executive
creates a customer and two (empty) accounts, a teller deposits the opening cash and transfers, the
statement shows it and downloads as PDF and spreadsheet, a large deposit waits until a second teller
approves it."""
import os
import re

import pytest

from servers import Gunicorn, app_env, flask_cli

CHROMIUM = os.environ.get("BANK_TEST_CHROMIUM", "/usr/bin/chromium")
# Without the background-networking flags Chromium keeps calling out to Google's hosts, which a
# closed network refuses; a fresh profile per run comes from playwright itself.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
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
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            context = browser.new_context(accept_downloads=True)
            page = context.new_page()
            page.set_default_timeout(60_000)  # CI machines are shared; a slow page is not a failure
            yield page
        finally:
            browser.close()


def flashed(page, pattern):
    """The flash message matching `pattern` on the page the last submit led to (waits for it)."""
    message = page.locator("p.flash", has_text=pattern).first
    try:
        message.wait_for()
    except Exception:
        shown = " | ".join(page.locator("p.flash").all_inner_texts()) or "no message"
        raise AssertionError(f"no flash matching {pattern!r}: page {page.url} shows {shown}") from None
    return message.inner_text()


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
    for label, value in (("SSN id", "424242424"), ("Name", "Katherine Johnson"), ("Address", "1 Langley Way"),
                         ("Age", "41"), ("State", "Virginia"), ("City", "Hampton")):
        page.get_by_label(label).fill(value)
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

    # The teller: finds the account, takes the opening 100.00 and another 50.00, transfers 30.00.
    log_in(page, base, "teller1")
    page.get_by_label("Account or customer id").fill(savings)
    page.get_by_role("button", name="Find").first.click()
    page.wait_for_url(f"{base}/accounts/{savings}")
    for amount, after in (("100.00", "100.00"), ("50.00", "150.00")):
        page.locator("form", has_text="Deposit").get_by_label("Amount").fill(amount)
        page.get_by_role("button", name="Deposit").click()
        flashed(page, f"Deposited {amount}. New balance {after}.")
    assert balance(page) == "150.00"

    page.get_by_role("link", name="Transfer from this account").click()
    assert page.get_by_label("From account").input_value() == savings, "the transfer form starts from the account"
    page.get_by_label("To account").fill(current)
    page.get_by_label("Amount").fill("30.00")
    page.get_by_role("button", name="Transfer").click()
    flashed(page, f"Transferred 30.00 from {savings} to {current}.")
    assert balance(page) == "120.00"

    # A refused withdrawal says why and changes nothing.
    page.locator("form", has_text="Withdraw").get_by_label("Amount").fill("500.00")
    page.get_by_role("button", name="Withdraw").click()
    flashed(page, "insufficient funds")
    assert balance(page) == "120.00"

    # The statement: on screen, then both downloads.
    page.get_by_label("or last").fill("10")
    page.get_by_role("button", name="Show statement").click()
    table = page.locator("#statement").inner_text()
    for expected in ("Deposit", f"Transfer out (to {current})", "100.00", "150.00", "120.00"):
        assert expected in table, f"the statement shows {expected}"
    assert page.locator("#closing").inner_text().strip() == "120.00"

    for link, magic, suffix in (("Download PDF", b"%PDF-", "pdf"), ("Download spreadsheet", b"PK", "xlsx")):
        with page.expect_download() as download_info:
            page.get_by_role("link", name=link).click()
        download = download_info.value
        assert download.suggested_filename == f"statement-{savings}.{suffix}"
        file = tmp_path / download.suggested_filename
        download.save_as(file)
        assert file.read_bytes().startswith(magic), f"the {suffix} file is a real {suffix}"

    # The teller sees only the last four digits of the customer's SSN id.
    page.goto(f"{base}/customers/{cust_id}")
    card = page.locator("dl.card").inner_text()
    assert "*****2424" in card and "424242424" not in card, "the teller sees a masked SSN id"

    # A large deposit waits for a second person; the teller who asked cannot approve it.
    page.goto(f"{base}/accounts/{savings}")
    page.locator("form", has_text="Deposit").get_by_label("Amount").fill("25000.00")
    page.get_by_role("button", name="Deposit").click()
    asked = flashed(page, re.compile(r"awaits a second person's approval \(request \d+\)"))
    request = re.search(r"request (\d+)", asked).group(1)
    assert balance(page) == "120.00", "the balance waits too"
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
    assert balance(page) == "25,120.00", "the approved deposit is in the balance"
    log_out(page)
