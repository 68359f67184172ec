"""A postal address as a letter's window shows it, per country's post, and the paper it goes on."""

from __future__ import annotations

import pytest

from portal.accounts.postal import lines, paper


@pytest.mark.parametrize(("address", "expected"), [
    (("Alex Rivera", "350 W 31st St", "Apt 4B", "New York", "NY", "10001", "US"),
     ("Alex Rivera", "350 W 31st St", "Apt 4B", "New York, NY 10001", "UNITED STATES")),
    (("María López", "12 Brattle St", None, "Cambridge", "MA", "02139", "US"),
     ("María López", "12 Brattle St", "Cambridge, MA 02139", "UNITED STATES")),
    (("Oliver Bennett", "1 Parliament Sq", None, "London", None, "SW1A 1AA", "GB"),
     ("Oliver Bennett", "1 Parliament Sq", "London", "SW1A 1AA", "UNITED KINGDOM")),
    (("Ana Ruiz", "Calle Mayor 1", "  ", "Madrid", None, "28013", "ES"),
     ("Ana Ruiz", "Calle Mayor 1", "28013 Madrid", "SPAIN")),
    (("王芳", "朝阳区建国路 88 号", None, "北京", "BJ", "100022", "CN"),
     ("王芳", "朝阳区建国路 88 号", "100022 北京 BJ", "CHINA")),
])
def test_address_lines_in_the_order_the_post_reads_them(address, expected):
    assert lines(*address) == expected


@pytest.mark.parametrize(("last_line", "expected"), [
    ("UNITED STATES", "Letter"), ("CANADA", "Letter"), ("UNITED KINGDOM", "A4"),
    ("CHINA", "A4"), (None, "A4"),
])
def test_paper_follows_the_addressee_s_country(last_line, expected):
    assert paper(["Someone", "1 Street", last_line] if last_line else []) == expected
