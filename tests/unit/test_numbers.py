"""Public case numbers read back safely: anything that is not one is a 404, never a query error."""

import pytest

from portal.numbers import id_of, number
from portal.operations import NotFound


@pytest.mark.parametrize(("text", "expected"), [
    ("D-000123", 123), ("d-000123", 123), (" D-7 ", 7), ("D-2147483647", 2147483647),
])
def test_numbers_read_back(text, expected):
    assert id_of(text, "D") == expected


@pytest.mark.parametrize("text", [
    "D-0", "D-", "D-2147483648", "D-999999999999", "P-000123", "D-12a", "D--1", "D-١٢", "D-²",
    "123", "",
])
def test_anything_else_is_not_found(text):
    with pytest.raises(NotFound):
        id_of(text, "D")


def test_numbers_are_padded():
    assert number("P", 45) == "P-000045"
