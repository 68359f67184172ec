"""Counting the words of a reason in English, Spanish and Chinese."""

import pytest

from portal import words


@pytest.mark.parametrize(("text", "expected"), [
    (None, 0),
    ("", 0),
    ("   ", 0),
    ("Overpaid by mistake", 3),
    ("  Pagó   dos veces ", 3),
    ("重复付款", 4),
    ("借款人 重复付款", 7),
    ("Paid twice 重复", 4),
    ("REF-123重复", 3),
])
def test_count(text, expected):
    assert words.count(text) == expected
