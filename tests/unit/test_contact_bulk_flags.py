"""What the bulk path makes of PAIRS_SQL's named columns: whether an account has anything of its
own, and whether its attempts may count (or only its last conversation) under each rulebook."""

from __future__ import annotations

import pytest

from portal.contact.bulk_looks import attempts_may_count, only_talk_counts
from portal.contact.bulk_sql import Pair
from portal.contact.canonical import Readers

FLAGS = ("opted_out", "has_preferences", "held", "attempted", "telephoned", "called_recently",
         "called_often", "talked_recently", "visited", "employer_email")
US = Readers(us=True, cn=False, ma=False, unknown=False)
MA = Readers(us=True, cn=False, ma=True, unknown=False)
CN = Readers(us=False, cn=True, ma=False, unknown=False)
UK = Readers(us=False, cn=False, ma=False, unknown=False)
NEW = Readers(us=True, cn=False, ma=False, unknown=True)


def pair(*flags: str) -> Pair:
    """A row of PAIRS_SQL with these named columns true and nothing else read."""
    return Pair(ns=[1], sent_on=None, shape=None, holds=None, last_talk=None, preferences=None,
                policy=None, points=None, attempts=None,
                **{name: name in flags for name in FLAGS})


@pytest.mark.parametrize("flag", FLAGS)
def test_any_one_named_column_makes_the_account_its_own(flag):
    assert pair(flag).own
    assert not pair().own


CALLED = ("attempted", "telephoned", "called_recently")


@pytest.mark.parametrize(("seen", "flags", "channel", "may_count", "only_talk"), [
    # US: below the weekly limit, only a conversation of the last days counts, and only for a call.
    (US, (), "call", False, True),
    (US, CALLED, "call", False, True),
    (US, (*CALLED, "talked_recently"), "call", True, True),
    (US, (*CALLED, "called_often"), "call", True, False),
    (US, (*CALLED, "called_often", "talked_recently"), "sms", False, False),
    (US, ("attempted", "telephoned"), "call", False, True),  # the calls were weeks ago
    # Massachusetts: every call or text of the lookback, for a call or a text.
    (MA, ("attempted", "telephoned"), "sms", True, False),
    (MA, ("attempted", "telephoned"), "call", True, False),
    (MA, ("attempted", "telephoned"), "email", False, False),
    (MA, ("attempted",), "sms", False, False),  # emails and letters only
    # Massachusetts visits: every visit of the lookback, for a visit (209 CMR 18.17(6)).
    (MA, ("attempted", "visited"), "visit", True, False),
    (MA, ("attempted", "telephoned"), "visit", False, False),
    (MA, ("attempted", "visited"), "call", False, False),
    (US, ("attempted", "visited"), "visit", False, False),
    # China: the calls of the local day, for a call.
    (CN, CALLED, "call", True, False),
    (CN, CALLED, "sms", False, False),
    (CN, ("attempted", "telephoned"), "call", False, False),
    # The UK rules count no attempts.
    (UK, (*CALLED, "called_often", "talked_recently"), "call", False, False),
    # A check the bulk path does not know: any attempt may count.
    (NEW, ("attempted",), "letter", True, False),
    (NEW, (), "call", False, False),
])
def test_which_attempts_may_count(seen, flags, channel, may_count, only_talk):
    row = pair(*flags)
    assert attempts_may_count(seen, row, channel) is may_count
    assert only_talk_counts(seen, row, channel) is only_talk
