"""Money is text with at most two decimals, held as integer cents; the pages also take it as they
show it ("1,000.00")."""
import pytest

from bank.errors import InvalidInput
from bank.money import format_cents, format_display, parse_amount, parse_shown_amount


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


@pytest.mark.parametrize("text, cents", [
    ("1,000.00", 100000), ("1,000", 100000), ("1000", 100000), ("12.5", 1250), ("0.01", 1), ("007.05", 705),
    ("1,234,567.89", 123456789), ("999,999,999.99", 99999999999), ("1,000,000,000.00", 100000000000),
    ("1,000,000,000", 100000000000), ("0000000000001.00", 100),
])
def test_an_amount_typed_as_the_pages_show_it_becomes_exact_cents(text, cents):
    assert parse_shown_amount(text) == cents


@pytest.mark.parametrize("value, problem", [
    ("1,00.0", "has commas in the wrong places"), ("1,0000", "has commas in the wrong places"),
    (",100", "has commas in the wrong places"), ("1,,000", "has commas in the wrong places"),
    ("0,100", "has commas in the wrong places"), ("1,000,00", "has commas in the wrong places"),
    ("1000,000", "has commas in the wrong places"), ("1,000.", "one or two digits after the decimal point"),
    ("1.", "one or two digits after the decimal point"), ("1.234", "at most two decimals"),
    ("1,000.001", "at most two decimals"), (".5", "must start with a digit"),
    ("１,０００.００", "digits 0 to 9"), ("1,000.٠٠", "digits 0 to 9"), ("５", "digits 0 to 9"), ("²", "digits 0 to 9"),
    (" 5", "spaces before or after"), ("5 ", "spaces before or after"),
    ("+5", "no sign"), ("-5.00", "no sign"), ("1e3", "such as 1,250.00"), ("5_000", "such as 1,250.00"),
    ("1.000,00", "such as 1,250.00"), ("NaN", "such as 1,250.00"), ("", "is required"), (None, "is required"),
    ("0", "more than 0.00"), ("0,000.00", "has commas in the wrong places"), ("0.00", "more than 0.00"),
    ("1,000,000,000.01", "at most 1,000,000,000.00"), ("9" * 5000, "at most 1,000,000,000.00"),
    ("1,000,000,000,000", "at most 1,000,000,000.00"),
])
def test_a_mistyped_amount_is_refused_with_a_reason_for_a_person(value, problem):
    with pytest.raises(InvalidInput) as caught:
        parse_shown_amount(value, "amount")
    assert caught.value.field == "amount"
    assert problem in caught.value.problem


def test_what_the_pages_show_is_read_back_to_the_same_cents():
    for cents in list(range(1, 20001, 7)) + [10**n + 1 for n in range(3, 11)] + [100000000000]:
        assert parse_shown_amount(format_display(cents)) == cents
