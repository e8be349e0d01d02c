"""The staff pages' forms, read whole: every field is checked and each problem kept as a sentence for
the person at the desk, so a form comes back once with all its problems, each beside its field.

The checks are the API's (bank.validation), which stop at the first problem and name fields as the
API does; only amounts differ: the pages take them as they show them ("1,000.00")."""
from .errors import BankError, InvalidInput
from .money import parse_shown_amount
from .validation import MAX_STATEMENT_ROWS, customer_field, id_text, moment, whole_number

# How each field is called in a sentence ("Age must be a whole number from 0 to 150.").
LABELS = {
    "ssn_id": "SSN id", "name": "Name", "address": "Address", "age": "Age", "state": "State", "city": "City",
    "cust_id": "Customer id", "type": "Type", "amount": "Amount", "from": "From account", "to": "To account",
    "since": "From", "until": "Until", "limit": "The number of transactions", "q": "The search",
    "current_password": "Current password", "new_password": "New password",
    "confirm_password": "New password again",
}


class FormProblems(BankError):
    """A form with fields to correct: {field: sentence}, in the order of the form."""

    def __init__(self, problems, status=400):
        super().__init__(" ".join(problems.values()))
        self.problems = dict(problems)
        self.status = status


def sentence(text):
    """A message as a sentence: capital first letter, full stop."""
    text = text.strip()
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "?", "!")) else text + "."


class FormReader:
    """Checks one form's fields one after another, keeping going after a problem."""

    def __init__(self, form):
        self.form = form
        self.problems = {}
        self.statuses = []

    def raw(self, field):
        return self.form.get(field, "")

    def check(self, field, read, *args):
        """`read(*args)`'s value, or None after noting its problem against `field`."""
        try:
            return read(*args)
        except InvalidInput as error:
            self.note(field, f"{LABELS.get(field, field)} {error.problem}", status=400)
            return None

    def note(self, field, text, status=422):
        """A problem with `field` found otherwise (a lookup, a rule); the first one per field stays."""
        if field not in self.problems:
            self.problems[field] = sentence(text)
            self.statuses.append(status)

    def ok(self):
        """True while no field has a problem."""
        return not self.problems

    @property
    def status(self):
        """The answer's status: the most basic problem's (400 bad input before 404 before 422)."""
        return min(self.statuses, default=200)

    def finish(self):
        if self.problems:
            raise FormProblems(self.problems, self.status)


def customer_fields(form, fields):
    """The customer's fields from the new-customer or edit form."""
    reader = FormReader(form)
    clean = {field: reader.check(field, customer_field, form, field) for field in fields}
    reader.finish()
    return clean


def amount(reader, field="amount"):
    return reader.check(field, parse_shown_amount, reader.raw(field), field)


def account_id(reader, field):
    return reader.check(field, _id, reader.raw(field), field, "360110000")


def customer_id(reader, field="cust_id"):
    return reader.check(field, _id, reader.raw(field), field, "110110000")


def _id(raw, field, example):
    if not raw.strip():
        raise InvalidInput(field, "is required")
    try:
        return id_text(raw.strip(), field, "an id")
    except InvalidInput:
        raise InvalidInput(field, f"must be a number in digits, such as {example}") from None


def statement_query(args):
    """since, until and limit of the statement page, all checked; ({query}, since, until, limit)."""
    query = {k: v for k, v in args.items() if k in ("since", "until", "limit") and v}
    reader = FormReader(query)
    since = reader.check("since", moment, query["since"], "since") if "since" in query else None
    until = reader.check("until", moment, query["until"], "until", True) if "until" in query else None
    if since and until and since >= until:
        reader.note("until", "Until must be after From")
    limit = None
    if "limit" in query:
        limit = reader.check("limit", whole_number, query["limit"], "limit", 1, MAX_STATEMENT_ROWS)
    reader.finish()
    return query, since, until, limit
