"""Reading what a client sent: each reader returns clean values or raises InvalidInput naming the
field and what was expected. The JSON API and the HTML forms share these readers."""
import re
from datetime import date, datetime, time, timedelta, timezone

from .errors import InvalidInput
from .models import ACCOUNT_TYPES, ROLES

CUSTOMER_FIELDS = ("ssn_id", "name", "address", "age", "state", "city")
EDITABLE_CUSTOMER_FIELDS = ("name", "address", "age", "state", "city")
_SSN = re.compile(r"^\d{9}$")
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,39}$")
_TEXT_LIMITS = {"name": 100, "address": 200, "state": 60, "city": 60}
MAX_STATEMENT_ROWS = 1000


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
    if len(value) > _TEXT_LIMITS[field]:
        raise InvalidInput(field, f"must be at most {_TEXT_LIMITS[field]} characters")
    return value


def integer_field(body, field, low, high):
    value = required(body, field)
    if isinstance(value, bool):
        raise InvalidInput(field, f"must be a whole number from {low} to {high}")
    if isinstance(value, str) and re.fullmatch(r"\s*\d{1,12}\s*", value):
        value = int(value)
    if not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput(field, f"must be a whole number from {low} to {high}")
    return value


def ssn_field(body, field="ssn_id"):
    value = required(body, field)
    if isinstance(value, int) and not isinstance(value, bool):
        value = f"{value:09d}" if value >= 0 else str(value)
    if not isinstance(value, str) or not _SSN.match(value.strip()):
        raise InvalidInput(field, "must be exactly 9 digits")
    return value.strip()


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
    clean = {}
    for field in fields:
        if field == "ssn_id":
            clean[field] = ssn_field(body)
        elif field == "age":
            clean[field] = integer_field(body, "age", 0, 150)
        else:
            clean[field] = text_field(body, field)
    return clean


def id_field(body, field):
    return integer_field(body, field, 1, 10**15)


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
    if not isinstance(value, str) or not _USERNAME.match(value):
        raise InvalidInput(field, "must be 3 to 40 characters: lower-case letters, digits, '.', '_' or '-'")
    return value


def password_field(value, field="password"):
    if not isinstance(value, str) or len(value) < 12:
        raise InvalidInput(field, "must be at least 12 characters")
    if len(value.encode()) > 72:
        raise InvalidInput(field, "must be at most 72 bytes (bcrypt's limit)")
    return value


def _moment(value, field, end_of_day):
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            day = date.fromisoformat(value)
            return datetime.combine(day + timedelta(days=1), time.min) if end_of_day else datetime.combine(day, time.min)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(field, f"must be a date YYYY-MM-DD or an ISO 8601 time, got {value[:40]!r}") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment


def statement_range(args):
    """since/until/limit from a query string. A date `until` includes that whole day (UTC)."""
    since = _moment(args["since"], "since", end_of_day=False) if args.get("since") else None
    until = _moment(args["until"], "until", end_of_day=True) if args.get("until") else None
    if since and until and since >= until:
        raise InvalidInput("until", "must be after since")
    limit = None
    if args.get("limit"):
        raw = args["limit"]
        if not re.fullmatch(r"\d{1,6}", raw) or not 1 <= int(raw) <= MAX_STATEMENT_ROWS:
            raise InvalidInput("limit", f"must be a whole number from 1 to {MAX_STATEMENT_ROWS}")
        limit = int(raw)
    return since, until, limit
