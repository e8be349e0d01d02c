"""Reading what a client sent: each reader returns clean values or raises InvalidInput naming the
field and what was expected. The JSON API and the HTML forms share these readers.

Digits are ASCII digits only: Python's `\\d`, `str.isdigit()` and `int()` also take "５", "٥" or "²",
which would let one SSN id be written several ways and make `int()` fail where `isdigit()` passed.
"""
import re
import unicodedata
from datetime import date, datetime, time, timedelta, timezone

from .errors import InvalidInput
from .models import ACCOUNT_TYPES, ROLES

CUSTOMER_FIELDS = ("ssn_id", "name", "address", "age", "state", "city")
EDITABLE_CUSTOMER_FIELDS = ("name", "address", "age", "state", "city")
_SSN = re.compile(r"[0-9]{9}")
_USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{2,39}")
_TEXT_LIMITS = {"name": 100, "address": 200, "state": 60, "city": 60}
MAX_STATEMENT_ROWS = 1000
MAX_ID = 10**15  # ids are BIGINT; anything longer is no id of ours
MAX_PAGE = 100_000
# MariaDB's DATETIME range, one day short at the top so an `until` day can end at the next midnight.
EARLIEST = datetime(1000, 1, 1)
LATEST = datetime(9999, 12, 31)


def ascii_digits(value, longest=None):
    """True for a non-empty string of ASCII digits (at most `longest` of them)."""
    return (isinstance(value, str) and value.isascii() and value.isdigit()
            and (longest is None or len(value) <= longest))


def whole_number(raw, field, low, high):
    """A whole number from a query string or form field, written in ASCII digits."""
    if not ascii_digits(raw, 12) or not low <= int(raw) <= high:
        raise InvalidInput(field, f"must be a whole number from {low} to {high}")
    return int(raw)


def id_text(raw, field, what):
    """An account or customer id typed into a form or query ("360110000")."""
    if not ascii_digits(raw, 15) or not 1 <= int(raw) <= MAX_ID:
        raise InvalidInput(field, f"must be {what} (digits)")
    return int(raw)


def page_number(args):
    raw = args.get("page", "1")
    return whole_number(raw, "page", 1, MAX_PAGE) if raw else 1


def require_object(body):
    if not isinstance(body, dict):
        raise InvalidInput("body", "must be a JSON object")
    return body


def reject_unknown(body, allowed):
    for key in body:
        if key not in allowed:
            raise InvalidInput(key, f"is not a known field; expected only {', '.join(allowed)}")


def required(body, field):
    if field not in body or body[field] is None or body[field] == "":
        raise InvalidInput(field, "is required")
    return body[field]


def text_field(body, field):
    value = required(body, field)
    if not isinstance(value, str):
        raise InvalidInput(field, "must be a string")
    value = " ".join(value.split())
    if not value:
        raise InvalidInput(field, "is required")
    _printable_text(value, field)
    if len(value) > _TEXT_LIMITS[field]:
        raise InvalidInput(field, f"must be at most {_TEXT_LIMITS[field]} characters")
    return value


def _printable_text(value, field):
    # Control and format characters (NUL, escape sequences, right-to-left overrides) have no place in
    # a name or an address, and a lone surrogate cannot even be stored as UTF-8.
    for char in value:
        category = unicodedata.category(char)
        if category in ("Cc", "Cf", "Cs", "Co", "Cn"):
            raise InvalidInput(field, f"must be printable text; it contains U+{ord(char):04X}")


def integer_field(body, field, low, high):
    value = required(body, field)
    if isinstance(value, bool):
        raise InvalidInput(field, f"must be a whole number from {low} to {high}")
    if isinstance(value, str) and ascii_digits(value.strip(" "), 12):
        value = int(value.strip(" "))
    if not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput(field, f"must be a whole number from {low} to {high}")
    return value


def ssn_field(body, field="ssn_id"):
    value = required(body, field)
    if isinstance(value, int) and not isinstance(value, bool):
        value = f"{value:09d}" if value >= 0 else str(value)
    if not isinstance(value, str) or not _SSN.fullmatch(value.strip(" ")):
        raise InvalidInput(field, "must be exactly 9 digits")
    return value.strip(" ")


def customer_fields(body, partial=False):
    """The customer's fields from a request; `partial` for an edit (any subset, no ssn_id)."""
    require_object(body)
    if partial:
        if "ssn_id" in body:
            raise InvalidInput("ssn_id", "cannot be changed; it identifies the customer")
        reject_unknown(body, EDITABLE_CUSTOMER_FIELDS)
        if not body:
            raise InvalidInput("body", f"must name at least one of {', '.join(EDITABLE_CUSTOMER_FIELDS)}")
        fields = [f for f in EDITABLE_CUSTOMER_FIELDS if f in body]
    else:
        reject_unknown(body, CUSTOMER_FIELDS)
        fields = CUSTOMER_FIELDS
    return {field: customer_field(body, field) for field in fields}


def customer_field(body, field):
    """One of the customer's fields, checked."""
    if field == "ssn_id":
        return ssn_field(body)
    if field == "age":
        return integer_field(body, "age", 0, 150)
    return text_field(body, field)


def id_field(body, field):
    return integer_field(body, field, 1, MAX_ID)


def account_type(body, field="type"):
    value = required(body, field)
    if value not in ACCOUNT_TYPES:
        raise InvalidInput(field, f"must be one of {', '.join(ACCOUNT_TYPES)}")
    return value


def role_field(value, field="role"):
    if value not in ROLES:
        raise InvalidInput(field, f"must be one of {', '.join(ROLES)}")
    return value


def username_field(value, field="username"):
    if not isinstance(value, str) or not _USERNAME.fullmatch(value):
        raise InvalidInput(field, "must be 3 to 40 characters: lower-case letters, digits, '.', '_' or '-'")
    return value


def password_field(value, field="password", username=None):
    if not isinstance(value, str) or len(value) < 12:
        raise InvalidInput(field, "must be at least 12 characters")
    if len(value.encode()) > 72:
        raise InvalidInput(field, "must be at most 72 bytes (bcrypt's limit)")
    from .passwords import weakness

    problem = weakness(value, username)
    if problem:
        raise InvalidInput(field, problem)
    return value


def moment(value, field, end_of_day=False):
    """A date (the start of that day, or with `end_of_day` the start of the next) or an ISO 8601
    time, as naive UTC."""
    expected = f"must be a date YYYY-MM-DD or an ISO 8601 time, got {value[:40]!r}"
    if not value.isascii():
        raise InvalidInput(field, expected)
    try:
        if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
            day = date.fromisoformat(value)
            moment = datetime.combine(day, time.min) + (timedelta(days=1) if end_of_day else timedelta(0))
        else:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            if moment.tzinfo is not None:
                moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    except ValueError:
        raise InvalidInput(field, expected) from None
    except OverflowError:  # a time zone or the extra day pushed it past year 1 or 9999
        moment = None
    if moment is None or not EARLIEST <= moment <= LATEST:
        raise InvalidInput(field, f"must be between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d}")
    return moment


def statement_range(args):
    """since/until/limit from a query string. A date `until` includes that whole day (UTC)."""
    since = moment(args["since"], "since", end_of_day=False) if args.get("since") else None
    until = moment(args["until"], "until", end_of_day=True) if args.get("until") else None
    if since and until and since >= until:
        raise InvalidInput("until", "must be after since")
    limit = None
    if args.get("limit"):
        limit = whole_number(args["limit"], "limit", 1, MAX_STATEMENT_ROWS)
    return since, until, limit
