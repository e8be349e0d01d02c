"""Account statements: the rows of a period (or the last N), with opening and closing balances,
rendered on screen, as PDF (reportlab) and as a spreadsheet (openpyxl)."""
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from io import BytesIO
from xml.sax.saxutils import escape

from openpyxl import Workbook
from openpyxl.styles import Font
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from . import customers, ledger
from .models import utcnow
from .money import format_display

KIND_LABELS = {
    "opening": "Opening deposit",
    "deposit": "Deposit",
    "withdrawal": "Withdrawal",
    "transfer_in": "Transfer in",
    "transfer_out": "Transfer out",
}


@dataclass
class Statement:
    account: object
    customer: object
    rows: list
    period: str
    opening_cents: int
    closing_cents: int
    truncated: bool
    generated_at: datetime


def _period(since, until, limit):
    parts = []
    if since:
        parts.append(f"from {since:%Y-%m-%d %H:%M}")
    if until:
        parts.append(f"until {until:%Y-%m-%d %H:%M}")
    if limit:
        parts.append(f"last {limit} transactions")
    return ", ".join(parts) if parts else "all transactions"


def build(acc_id, since, until, limit):
    account = customers.get_account(acc_id)
    rows, truncated = ledger.history(acc_id, since, until, limit)
    if rows:
        opening = rows[0].balance_after_cents - rows[0].amount_cents
        closing = rows[-1].balance_after_cents
    else:
        opening = closing = account.balance_cents if until is None else _balance_before(acc_id, until)
    return Statement(account, account.customer, rows, _period(since, until, limit), opening, closing,
                     truncated, utcnow())


def _balance_before(acc_id, moment):
    rows, _ = ledger.history(acc_id, None, moment, 1)
    return rows[-1].balance_after_cents if rows else 0


def table_rows(statement):
    """Date, description, debit, credit, balance: the same columns on screen, PDF and spreadsheet."""
    for row in statement.rows:
        description = KIND_LABELS.get(row.kind, row.kind)
        if row.counterparty_acc_id:
            description += f" ({'to' if row.amount_cents < 0 else 'from'} {row.counterparty_acc_id})"
        yield (
            row.time_stamp,
            row.trans_id,
            description,
            -row.amount_cents if row.amount_cents < 0 else None,
            row.amount_cents if row.amount_cents > 0 else None,
            row.balance_after_cents,
        )


def _heading(statement):
    """The lines above the table: (label, value), a value in cents being an int, any other a str."""
    a, c = statement.account, statement.customer
    return [
        ("Account", f"{a.acc_id} ({a.type}, {a.status})"),
        ("Customer", f"{c.name} ({c.cust_id})"),
        ("Period", statement.period),
        ("Opening balance", statement.opening_cents),
        ("Closing balance", statement.closing_cents),
        ("Generated", f"{statement.generated_at:%Y-%m-%d %H:%M:%S} UTC"),
    ]


def to_pdf(statement):
    buffer = BytesIO()
    document = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm,
                                 title=f"Statement of account {statement.account.acc_id}")
    styles = getSampleStyleSheet()
    story = [Paragraph(f"Statement of account {statement.account.acc_id}", styles["Title"])]
    for label, value in _heading(statement):
        # Paragraph text is reportlab markup: an unescaped <img src>, <a href> or a stray "<" in a
        # customer's name would make the server fetch a URL, plant a link, or fail every time.
        shown = format_display(value) if isinstance(value, int) else value
        story.append(Paragraph(f"<b>{escape(label)}:</b> {escape(shown)}", styles["Normal"]))
    story.append(Spacer(1, 6 * mm))
    data = [["Date (UTC)", "Ref", "Description", "Debit", "Credit", "Balance"]]
    for when, ref, description, debit, credit, balance in table_rows(statement):
        data.append([
            f"{when:%Y-%m-%d %H:%M:%S}", str(ref), description,
            format_display(debit) if debit else "", format_display(credit) if credit else "",
            format_display(balance),
        ])
    if len(data) == 1:
        data.append(["", "", "No transactions in this period", "", "", ""])
    table = Table(data, repeatRows=1, colWidths=[34 * mm, 20 * mm, 54 * mm, 24 * mm, 24 * mm, 24 * mm])
    table.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
        ("FONTSIZE", (0, 0), (-1, -1), 8),
        ("ALIGN", (3, 0), (-1, -1), "RIGHT"),
        ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.black),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f2f2f2")]),
    ]))
    story.append(table)
    if statement.truncated:
        story.append(Paragraph("Only the latest rows are shown; choose a shorter period.", styles["Italic"]))
    document.build(story)
    buffer.seek(0)
    return buffer


# A text cell starting with one of these is a formula (or becomes one when someone edits it) in
# Excel and LibreOffice.
_FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r", "\n")


def _as_text(cell):
    """openpyxl stores any string starting with "=" as a formula: keep every string a string, and
    mark the risky ones quote-prefixed so an edit in Excel keeps them text too."""
    if isinstance(cell.value, str):
        cell.data_type = "s"
        if cell.value.startswith(_FORMULA_LEADS):
            cell.quotePrefix = True


# Amounts are numbers in the workbook, so a spreadsheet can sum and compare them; this format shows
# them as the pages do ("1,234.50").
MONEY_FORMAT = "#,##0.00"


def _money_cell(cell, cents):
    """An amount as a number of the currency unit. Decimal, not float: the file then holds the exact
    decimal text ("1234.5"), never a binary approximation of it."""
    cell.value = Decimal(cents).scaleb(-2)
    cell.number_format = MONEY_FORMAT


def to_xlsx(statement):
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Statement"
    for label, value in _heading(statement):
        sheet.append([label])
        row = sheet.max_row
        if isinstance(value, int):
            _money_cell(sheet.cell(row, 2), value)
        else:
            sheet.cell(row, 2).value = value
        for cell in sheet[row]:
            _as_text(cell)
    sheet.append([])
    sheet.append(["Date (UTC)", "Ref", "Description", "Debit", "Credit", "Balance"])
    header_row = sheet.max_row
    for cell in sheet[header_row]:
        cell.font = Font(bold=True)
    for when, ref, description, debit, credit, balance in table_rows(statement):
        sheet.append([when, ref, description])
        row = sheet.max_row
        _as_text(sheet.cell(row, 3))
        sheet.cell(row, 1).number_format = "yyyy-mm-dd hh:mm:ss"
        for column, cents in ((4, debit), (5, credit), (6, balance)):
            if cents is not None:
                _money_cell(sheet.cell(row, column), cents)
    for column, width in zip("ABCDEF", (20, 12, 30, 14, 14, 14)):
        sheet.column_dimensions[column].width = width
    buffer = BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    return buffer
