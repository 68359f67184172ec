"""What the worker does with a queued message the rules judge again as it sends: a table of cases
for send_time.judge (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from portal.contact.rulebook import RULES, Purpose
from portal.contact.rules import Reason
from portal.messaging.send_time import CLOCK_RULES, UNDELIVERABLE, Action, Verdict, judge

MORNING = datetime(2031, 1, 9, 13, tzinfo=UTC)  # 08:00 in New York
LATER = datetime(2031, 1, 10, 13, tzinfo=UTC)


def reason(rule: str, until: datetime | None = None) -> Reason:
    return Reason(rule, "citation", "borrower", "agent", until, "block")


CASES = [
    # (purpose, stopping reasons, undeliverable) -> verdict
    ("nothing stops it", Purpose.COLLECTION, [], False, Verdict(Action.SEND)),
    ("quiet hours: held until morning", Purpose.COLLECTION,
     [reason("us.inconvenient-hours", MORNING)], False,
     Verdict(Action.HOLD, "us.inconvenient-hours", MORNING)),
    ("China's quiet hours", Purpose.COLLECTION, [reason("cn.quiet-hours", MORNING)], False,
     Verdict(Action.HOLD, "cn.quiet-hours", MORNING)),
    ("two clock rules: held until the later", Purpose.COLLECTION,
     [reason("us.inconvenient-hours", MORNING), reason("us-ma.call-frequency", LATER)], False,
     Verdict(Action.HOLD, "us.inconvenient-hours", LATER)),
    ("a cease: cancelled", Purpose.REQUESTED, [reason("us.cease-communication")], False,
     Verdict(Action.CANCEL, "us.cease-communication")),
    ("an opt-out: cancelled", Purpose.COLLECTION, [reason("us.channel-opt-out")], False,
     Verdict(Action.CANCEL, "us.channel-opt-out")),
    ("a hold with an end date is a hold, not a clock: cancelled", Purpose.COLLECTION,
     [reason("uk.breathing-space", LATER)], False, Verdict(Action.CANCEL, "uk.breathing-space")),
    ("a hold and night together: cancelled by the hold", Purpose.COLLECTION,
     [reason("us.inconvenient-hours", MORNING), reason("us.bankruptcy-stay")], False,
     Verdict(Action.CANCEL, "us.bankruptcy-stay")),
    ("a clock rule with no time it allows: cancelled", Purpose.COLLECTION,
     [reason("us.inconvenient-hours", None)], False,
     Verdict(Action.CANCEL, "us.inconvenient-hours")),
    ("a sign-in code goes at once", Purpose.ACCESS, [reason("us.inconvenient-hours", MORNING)],
     False, Verdict(Action.SEND)),
    ("an undeliverable point fails, whatever the rules", Purpose.COLLECTION, [], True,
     Verdict(Action.FAIL, UNDELIVERABLE)),
    ("an undeliverable point fails a sign-in code too", Purpose.ACCESS, [], True,
     Verdict(Action.FAIL, UNDELIVERABLE)),
]


@pytest.mark.parametrize(("purpose", "reasons", "undeliverable", "verdict"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_judge(purpose, reasons, undeliverable, verdict):
    assert judge(purpose, reasons, undeliverable) == verdict


def test_every_clock_rule_is_in_the_rulebook():
    assert CLOCK_RULES <= set(RULES)
