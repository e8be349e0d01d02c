"""Transaction history and statements (on screen data, PDF, spreadsheet) through the API."""
import base64
import io
import re
import zlib
from datetime import datetime, timedelta

import pytest
from openpyxl import load_workbook

from bank.database import db
from bank.models import Transaction


def pdf_text(data):
    """The text drawn in a PDF: reportlab writes page streams ASCII85-encoded and Flate-compressed."""
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    chunks = []
    for match in re.finditer(rb"stream\r?\n(.*?)endstream", data, re.S):
        stream = match.group(1).strip()
        if stream.endswith(b"~>"):
            stream = zlib.decompress(base64.a85decode(stream[:-2].replace(b"\n", b"")))
        chunks.append(stream)
    return b"".join(chunks).decode("latin-1")


@pytest.fixture
def busy_account(teller, new_account):
    account = new_account(deposit="100.00")
    url = f"/api/v1/accounts/{account['acc_id']}"
    for amount in ("10.00", "20.00", "30.00"):
        teller.post(url + "/deposit", json={"amount": amount})
    teller.post(url + "/withdraw", json={"amount": "5.50"})
    return account


def test_every_role_reads_the_history_in_time_order(executive, cashier, teller, busy_account):
    for speaker in (executive, teller, cashier):
        body = speaker.get(f"/api/v1/accounts/{busy_account['acc_id']}/transactions").json
        assert [r["amount"] for r in body["transactions"]] == ["100.00", "10.00", "20.00", "30.00", "-5.50"]
        assert body["transactions"][-1]["balance_after"] == "154.50"
        assert body["truncated"] is False


def test_limit_gives_the_last_n(teller, busy_account):
    body = teller.get(f"/api/v1/accounts/{busy_account['acc_id']}/transactions?limit=2").json
    assert [r["amount"] for r in body["transactions"]] == ["30.00", "-5.50"]


def test_since_and_until_select_a_period(app, teller, busy_account):
    acc_id = busy_account["acc_id"]
    with app.app_context():
        # Move two rows into last month so that a date range can tell them apart.
        ids = [r.trans_id for r in db.session.query(Transaction).filter_by(acc_id=acc_id).order_by(Transaction.trans_id)]
        month_ago = datetime.utcnow() - timedelta(days=30)
        for offset, trans_id in enumerate(ids[:2]):
            db.session.get(Transaction, trans_id).time_stamp = month_ago + timedelta(minutes=offset)
        db.session.commit()
    old_day = month_ago.date().isoformat()
    url = f"/api/v1/accounts/{acc_id}/transactions"
    assert [r["amount"] for r in teller.get(f"{url}?until={old_day}").json["transactions"]] == ["100.00", "10.00"]
    assert len(teller.get(f"{url}?since={(month_ago + timedelta(days=1)).date().isoformat()}").json["transactions"]) == 3
    assert [r["amount"] for r in teller.get(f"{url}?since={old_day}&until={old_day}&limit=1").json["transactions"]] == ["10.00"]
    assert teller.get(f"{url}?since={month_ago.isoformat()}Z").status_code == 200


@pytest.mark.parametrize("query, field", [
    ("since=yesterday", "since"), ("until=2024-13-01", "until"), ("limit=0", "limit"), ("limit=1001", "limit"),
    ("limit=ten", "limit"), ("since=2024-02-02&until=2024-02-01", "until"),
])
def test_a_bad_period_is_a_400_naming_the_parameter(teller, busy_account, query, field):
    for suffix in ("transactions", "statement.pdf", "statement.xlsx"):
        response = teller.get(f"/api/v1/accounts/{busy_account['acc_id']}/{suffix}?{query}")
        assert response.status_code == 400
        assert response.json["error"].startswith(f"{field}: ")


def test_history_of_an_unknown_account_is_a_404(teller):
    for suffix in ("transactions", "statement.pdf", "statement.xlsx"):
        assert teller.get(f"/api/v1/accounts/360199999/{suffix}").status_code == 404


def test_the_pdf_statement_lists_the_rows_and_balances(cashier, busy_account):
    response = cashier.get(f"/api/v1/accounts/{busy_account['acc_id']}/statement.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert f'filename=statement-{busy_account["acc_id"]}.pdf' in response.headers["Content-Disposition"]
    text = pdf_text(response.data)
    assert f"Statement of account {busy_account['acc_id']}" in text
    for figure in ("100.00", "30.00", "5.50", "154.50", "Withdrawal", "Deposit"):
        assert figure in text


def test_the_spreadsheet_statement_has_one_row_per_transaction(executive, busy_account):
    response = executive.get(f"/api/v1/accounts/{busy_account['acc_id']}/statement.xlsx?limit=3")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = load_workbook(io.BytesIO(response.data)).active
    values = [row for row in sheet.iter_rows(values_only=True)]
    heading = dict(row[:2] for row in values[:6])
    assert heading["Opening balance"] == 110
    assert heading["Closing balance"] == 154.5
    assert heading["Period"] == "last 3 transactions"
    header_at = values.index(("Date (UTC)", "Ref", "Description", "Debit", "Credit", "Balance"))
    body = [row[2:] for row in values[header_at + 1:]]
    assert body == [("Deposit", None, 20.0, 130.0), ("Deposit", None, 30.0, 160.0), ("Withdrawal", 5.5, None, 154.5)]


def test_every_amount_in_the_spreadsheet_is_a_number_shown_with_two_decimals(executive, busy_account):
    sheet = load_workbook(io.BytesIO(executive.get(
        f"/api/v1/accounts/{busy_account['acc_id']}/statement.xlsx").data)).active
    heading = {row[0].value: row[1] for row in sheet.iter_rows(max_row=6)}
    for label in ("Opening balance", "Closing balance"):
        assert heading[label].data_type == "n" and heading[label].number_format == "#,##0.00", label
    assert heading["Opening balance"].value == 0 and heading["Closing balance"].value == 154.5
    for label in ("Account", "Customer", "Period", "Generated"):
        assert heading[label].data_type == "s", label
    header_at = next(r for r in range(1, sheet.max_row + 1) if sheet.cell(r, 1).value == "Date (UTC)")
    amounts = [cell for row in sheet.iter_rows(min_row=header_at + 1, min_col=4, max_col=6) for cell in row
               if cell.value is not None]
    assert len(amounts) == 2 * (sheet.max_row - header_at)  # a debit or a credit, and the balance, per row
    assert all(cell.data_type == "n" and cell.number_format == "#,##0.00" for cell in amounts)


def _add_rows(app, acc_id, count):
    """Bulk history rows (a consistent running balance), faster than one request each."""
    with app.app_context():
        last = db.session.query(Transaction).filter_by(acc_id=acc_id).order_by(Transaction.trans_id.desc()).first()
        balance = last.balance_after_cents if last else 0
        rows = []
        for _ in range(count):
            balance += 1
            rows.append(Transaction(acc_id=acc_id, kind="deposit", amount_cents=1, balance_after_cents=balance,
                                    message="Deposit"))
        db.session.add_all(rows)
        db.session.commit()


def test_a_long_history_is_cut_at_1000_rows_and_says_so(app, teller, new_account):
    account = new_account(deposit="1.00")
    _add_rows(app, account["acc_id"], 1000)
    body = teller.get(f"/api/v1/accounts/{account['acc_id']}/transactions").json
    assert len(body["transactions"]) == 1000
    assert body["truncated"] is True
    assert body["transactions"][-1]["balance_after"] == "11.00"
    limited = teller.get(f"/api/v1/accounts/{account['acc_id']}/transactions?limit=1000").json
    assert limited["truncated"] is False


def test_a_long_pdf_statement_runs_over_several_pages(app, teller, new_account):
    account = new_account(deposit="1.00")
    _add_rows(app, account["acc_id"], 150)
    data = teller.get(f"/api/v1/accounts/{account['acc_id']}/statement.pdf").data
    assert data.count(b"/Type /Page\n") >= 3
    assert "2.51" in pdf_text(data)
