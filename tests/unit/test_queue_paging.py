"""The queues' query string rules and "this week", as tables (pure: no app, no database)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from portal.queues import paging
from portal.queues.week import this_week

SORTS = ("opened", "status", "account")


@pytest.mark.parametrize(("raw", "page"), [
    (None, 1), ("", 1), ("1", 1), ("7", 7), (str(paging.LAST_PAGE), paging.LAST_PAGE),
])
def test_page_numbers_read(raw, page):
    assert paging.page_number(raw) == page


@pytest.mark.parametrize("raw", [
    "0", "-1", "abc", "1.5", " 2", "２", str(paging.LAST_PAGE + 1), "9" * 30, "1e3",
])
def test_page_numbers_refused(raw):
    with pytest.raises(paging.BadQuery):
        paging.page_number(raw)


@pytest.mark.parametrize(("raw", "key", "descending"), [
    (None, "opened", False), ("", "opened", False), ("status", "status", False),
    ("-account", "account", True),
])
def test_sorts_read(raw, key, descending):
    assert paging.sort_of(raw, SORTS, "opened") == paging.Sort(key, descending)


@pytest.mark.parametrize("raw", ["-", "--opened", "id", "opened desc", "opened;drop", "Status"])
def test_sorts_outside_the_whitelist_refused(raw):
    with pytest.raises(paging.BadQuery):
        paging.sort_of(raw, SORTS, "opened")


def test_a_sort_flips_and_writes_itself():
    assert paging.Sort("opened", False).flipped().text == "-opened"
    assert paging.Sort("opened", True).flipped().text == "opened"


@pytest.mark.parametrize(("function", "raw", "result"), [
    (lambda r: paging.choice_of("status", r, ("a", "b")), "b", "b"),
    (lambda r: paging.choice_of("status", r, ("a", "b")), "", None),
    (lambda r: paging.id_of("creditor", r), "12", 12),
    (lambda r: paging.id_of("creditor", r), None, None),
    (lambda r: paging.text_of("by", r), "key:demo-dialer", "key:demo-dialer"),
])
def test_filters_read(function, raw, result):
    assert function(raw) == result


@pytest.mark.parametrize(("function", "raw"), [
    (lambda r: paging.choice_of("status", r, ("a", "b")), "c"),
    (lambda r: paging.id_of("creditor", r), "abc"),
    (lambda r: paging.id_of("creditor", r), "0"),
    (lambda r: paging.id_of("creditor", r), str(2**31)),
    (lambda r: paging.text_of("by", r), "x" * 61),
    (lambda r: paging.text_of("by", r), "a\nb"),
])
def test_filters_refused(function, raw):
    with pytest.raises(paging.BadQuery):
        function(raw)


@pytest.mark.parametrize(("total", "pages"), [(0, 1), (1, 1), (50, 1), (51, 2), (10_000, 200)])
def test_pages(total, pages):
    assert paging.pages(total, 50) == pages


def _utc(*parts) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.mark.parametrize(("now", "zone", "start", "end"), [
    # A Wednesday: Monday 00:00 to the next Monday 00:00, in UTC.
    (_utc(2026, 12, 2, 12), "UTC", _utc(2026, 11, 30), _utc(2026, 12, 7)),
    # Monday 03:00 UTC is still Sunday evening in Los Angeles: the week before there.
    (_utc(2026, 12, 7, 3), "America/Los_Angeles", _utc(2026, 11, 30, 8), _utc(2026, 12, 7, 8)),
    (_utc(2026, 12, 7, 3), "UTC", _utc(2026, 12, 7), _utc(2026, 12, 14)),
    # The week the clocks go back in New York (1 November 2026): 7 days and one hour long.
    (_utc(2026, 10, 29, 12), "America/New_York", _utc(2026, 10, 26, 4), _utc(2026, 11, 2, 5)),
    # Fourteen hours ahead: Sunday 11:00 UTC is Monday already.
    (_utc(2026, 12, 6, 11), "Pacific/Kiritimati", _utc(2026, 12, 6, 10), _utc(2026, 12, 13, 10)),
])
def test_this_week_in_a_zone(now, zone, start, end):
    assert this_week(now, zone) == (start, end)
