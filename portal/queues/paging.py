"""How a queue's query string is read: the page, the sort and the filters, each checked against
what the queue allows, so nothing a person types reaches SQL but a bound value. Pure."""

from __future__ import annotations

from dataclasses import dataclass

#: Rows on one page of a queue.
PAGE_SIZE = 50
#: No page past this: a bigger number is a typo or a probe, and OFFSET must stay small.
LAST_PAGE = 100_000
#: The longest free-text filter value (a partner's key or a staff id): longer names nothing.
LONGEST_VALUE = 60


class BadQuery(ValueError):
    """A query string the queue cannot read: answered 400 with this message, nothing run."""


@dataclass(frozen=True)
class Sort:
    key: str
    descending: bool

    @property
    def text(self) -> str:
        """As the query string writes it: `opened` or `-opened`."""
        return f"-{self.key}" if self.descending else self.key

    def flipped(self) -> Sort:
        return Sort(self.key, not self.descending)


def page_number(raw: str | None) -> int:
    """The page asked for: 1 when none is given; a clear refusal for anything not 1 or more."""
    if raw is None or raw == "":
        return 1
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= LAST_PAGE:
        raise BadQuery(f"page must be a whole number from 1 to {LAST_PAGE}")
    return int(raw)


def sort_of(raw: str | None, allowed: tuple[str, ...], default: str) -> Sort:
    """The sort asked for, one of the queue's own columns (`-` first for descending)."""
    text = default if raw is None or raw == "" else raw
    key = text.removeprefix("-")
    if key not in allowed:
        raise BadQuery(f"sort must be one of {', '.join(allowed)} (with - first to reverse)")
    return Sort(key, text.startswith("-"))


def choice_of(name: str, raw: str | None, allowed: tuple[str, ...]) -> str | None:
    """A filter that takes one of a few values; none given is no filter."""
    if raw is None or raw == "":
        return None
    if raw not in allowed:
        raise BadQuery(f"{name} must be one of {', '.join(allowed)}")
    return raw


def id_of(name: str, raw: str | None) -> int | None:
    """A filter that names a row by its id (a creditor); none given is no filter."""
    if raw is None or raw == "":
        return None
    if not raw.isascii() or not raw.isdigit() or not 0 < int(raw) < 2**31:
        raise BadQuery(f"{name} must be the number of one of the choices")
    return int(raw)


def text_of(name: str, raw: str | None) -> str | None:
    """A filter compared for equality with a short stored value; none given is no filter."""
    if raw is None or raw == "":
        return None
    if len(raw) > LONGEST_VALUE or not raw.isprintable():
        raise BadQuery(f"{name} is not one of the choices")
    return raw


def pages(total: int, size: int = PAGE_SIZE) -> int:
    """How many pages `total` rows fill (an empty queue still has its one page)."""
    return max(1, -(-total // size))


def offset(page: int, size: int = PAGE_SIZE) -> int:
    return (page - 1) * size
