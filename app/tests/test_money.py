"""Money is text with at most two decimals, held as integer cents."""
import pytest

from bank.errors import InvalidInput
from bank.money import format_cents, format_display, parse_amount


@pytest.mark.parametrize("text, cents", [
    ("12.50", 1250), ("12.5", 1250), ("12", 1200), ("0.01", 1), ("0.10", 10), ("007.05", 705),
    ("1000000000.00", 100000000000), ("999999999.99", 99999999999),
])
def test_a_decimal_string_becomes_exact_cents(text, cents):
    assert parse_amount(text) == cents


@pytest.mark.parametrize("value, problem", [
    ("0", "greater than 0.00"), ("0.00", "greater than 0.00"), ("-1.00", "decimal string"),
    ("1.234", "decimal string"), ("1e3", "decimal string"), ("abc", "decimal string"), ("", "decimal string"),
    (".5", "decimal string"), ("1.", "decimal string"), ("1,000.00", "decimal string"), ("NaN", "decimal string"),
    (" 3.00 ", "decimal string"), (" 5", "decimal string"), ("5 ", "decimal string"), ("+5", "decimal string"),
    ("5\n", "decimal string"), ("５", "decimal string"), ("٥.00", "decimal string"),
    ("1000000000.01", "at most 1000000000.00"), ("99999999999", "at most 1000000000.00"),
    (12.5, "decimal string"), (10, "decimal string"), (None, "decimal string"), (True, "decimal string"),
])
def test_anything_else_is_refused_naming_the_field(value, problem):
    with pytest.raises(InvalidInput) as caught:
        parse_amount(value, "deposit")
    assert caught.value.field == "deposit"
    assert caught.value.message.startswith("deposit: ")
    assert problem in caught.value.message


def test_zero_is_allowed_where_the_caller_says_so():
    assert parse_amount("0.00", allow_zero=True) == 0


@pytest.mark.parametrize("cents, text, display", [
    (0, "0.00", "0.00"), (5, "0.05", "0.05"), (1250, "12.50", "12.50"), (-525, "-5.25", "-5.25"),
    (123456789, "1234567.89", "1,234,567.89"),
])
def test_cents_are_written_with_two_decimals(cents, text, display):
    assert format_cents(cents) == text
    assert format_display(cents) == display


def test_format_and_parse_round_trip_every_cent_of_a_range():
    for cents in range(1, 20001, 7):
        assert parse_amount(format_cents(cents)) == cents
