"""Money as the bank writes it: decimal strings with at most two decimals, held as integer cents.

Floats never touch an amount: parsing is textual and every sum is integer arithmetic.
"""
import re

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
    whole, fraction = match.group(1), (match.group(2) or "").ljust(2, "0")
    cents = int(whole) * 100 + int(fraction)
    if cents == 0 and not allow_zero:
        raise InvalidInput(field, "must be greater than 0.00")
    if cents > MAX_AMOUNT_CENTS:
        raise InvalidInput(field, "must be at most 1000000000.00")
    return cents


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
