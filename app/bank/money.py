"""Money as the bank writes it: decimal strings with at most two decimals, held as integer cents.

Floats never touch an amount: parsing is textual and every sum is integer arithmetic. The API reads
amounts strictly ("1000.00"); the staff pages also take them as they show them ("1,000.00").
"""
import re
import unicodedata

from .errors import InvalidInput

MAX_AMOUNT_CENTS = 1_000_000_000_00  # 1,000,000,000.00: the largest single movement the bank accepts

# ASCII digits only, nothing around them: " 5", "+5", "5." and "５" are refused, not guessed at.
_AMOUNT = re.compile(r"([0-9]{1,15})(?:\.([0-9]{1,2}))?", re.ASCII)


def parse_amount(value, field="amount", allow_zero=False):
    """Cents from a string such as "12.50"; raises InvalidInput naming `field` otherwise."""
    expected = 'a decimal string with at most two decimals, such as "12.50"'
    if not isinstance(value, str):
        raise InvalidInput(field, f"must be {expected}")
    match = _AMOUNT.fullmatch(value)
    if not match:
        raise InvalidInput(field, f"must be {expected}, got {value[:40]!r}")
    cents = _cents(match.group(1), match.group(2))
    if cents == 0 and not allow_zero:
        raise InvalidInput(field, "must be greater than 0.00")
    if cents > MAX_AMOUNT_CENTS:
        raise InvalidInput(field, "must be at most 1000000000.00")
    return cents


# As the pages show amounts: commas between groups of three ("1,000,000.00") or none at all. A
# comma anywhere else is refused, not dropped: "1,00.0" or "1,0000" may be a typo for another amount.
_SHOWN_WHOLE = re.compile(r"[0-9]+|[1-9][0-9]{0,2}(?:,[0-9]{3})+", re.ASCII)
_SHOWN_FRACTION = re.compile(r"[0-9]{1,2}", re.ASCII)


def parse_shown_amount(value, field="amount"):
    """Cents from an amount typed into a staff page, written as the pages show money ("1,000.00" or
    "1000.00"). Still ASCII digits only and nothing around them; each refusal says, for the person
    at the desk, what is wrong with what they typed (the problem follows the field's label)."""
    if not isinstance(value, str) or value == "":
        raise InvalidInput(field, "is required")
    whole, dot, fraction = value.partition(".")
    if not _SHOWN_WHOLE.fullmatch(whole) or (dot and not _SHOWN_FRACTION.fullmatch(fraction)):
        raise InvalidInput(field, _shown_amount_problem(whole, dot, fraction))
    digits = whole.replace(",", "")
    if len(digits.lstrip("0")) > 10:  # also keeps int() away from a 60 KB number
        raise InvalidInput(field, f"must be at most {format_display(MAX_AMOUNT_CENTS)}")
    cents = _cents(digits, fraction)
    if cents == 0:
        raise InvalidInput(field, "must be more than 0.00")
    if cents > MAX_AMOUNT_CENTS:
        raise InvalidInput(field, f"must be at most {format_display(MAX_AMOUNT_CENTS)}")
    return cents


def _shown_amount_problem(whole, dot, fraction):
    text = whole + dot + fraction
    if any(not char.isascii() and (unicodedata.category(char) == "Nd" or unicodedata.digit(char, None) is not None)
           for char in text):
        # Full-width or Arabic-Indic digits look right on screen; say what differs.
        return "must be typed with the digits 0 to 9 (it has digits of another script or keyboard layout)"
    if text != text.strip():
        return "must not have spaces before or after it"
    if text.startswith(("-", "+")):
        return "must be more than 0.00, with no sign (the form says which way the money goes)"
    if whole == "" and fraction:
        return "must start with a digit, as in 0.50"
    if not re.fullmatch(r"[0-9,]+", whole, re.ASCII) or not re.fullmatch(r"[0-9]*", fraction, re.ASCII):
        return "must be an amount such as 1,250.00 or 1250.00"
    if not _SHOWN_WHOLE.fullmatch(whole):
        return "has commas in the wrong places: they go between groups of three digits, as in 1,000,000.00"
    if len(fraction) > 2:
        return "must have at most two decimals (cents), as in 12.50"
    return "must have one or two digits after the decimal point, as in 12.50"


def _cents(whole, fraction):
    return int(whole) * 100 + int((fraction or "").ljust(2, "0"))


def format_cents(cents):
    """"12.50" for 1250, "-0.05" for -5."""
    sign = "-" if cents < 0 else ""
    whole, fraction = divmod(abs(cents), 100)
    return f"{sign}{whole}.{fraction:02d}"


def format_display(cents):
    """Money for people: thousands separators, "1,234.50"."""
    sign = "-" if cents < 0 else ""
    whole, fraction = divmod(abs(cents), 100)
    return f"{sign}{whole:,}.{fraction:02d}"
