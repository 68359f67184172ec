"""What the worker does with a queued message when it comes to send it. Pure: no Flask, no database.

A message can wait in the queue (a backlog, retries after a busy server): meanwhile the clock
moves into quiet hours, or the borrower asks for a hold, a cease or an opt-out. So the worker asks
the contact rules again, with the message's purpose, and `judge` says what follows:

- SEND: nothing stops it; a sign-in code (Purpose.ACCESS) is never judged again (the borrower is
  waiting for it, and notify judged it a moment ago);
- HOLD: every rule that stops it is about the clock (hours, named times, how often): it stays
  queued, due again when the last of them allows, and is judged again then;
- CANCEL: a rule about the borrower or the debt stops it (a hold, a cease, an opt-out, a dispute),
  or a rule of the clock says no time when it would allow: it is never handed over;
- FAIL: its contact point was marked undeliverable after it was queued (a bounce): handing it
  over would only bounce again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from portal.contact.rulebook import Purpose
from portal.contact.rules import Reason

#: Rules whose block is about when, not whether: a message they stop can simply wait.
CLOCK_RULES = frozenset({
    "us.inconvenient-hours", "us.inconvenient-time-named", "uk.contact-reasonable",
    "cn.quiet-hours", "us.call-frequency", "us.call-after-conversation", "us-ma.call-frequency",
    "us-ma.visit-frequency", "cn.effective-calls-per-day", "cn.unanswered-attempts-per-day",
})
#: The error code of a message failed because its contact point is undeliverable.
UNDELIVERABLE = "undeliverable"


class Action(StrEnum):
    SEND = "send"
    HOLD = "hold"
    CANCEL = "cancel"
    FAIL = "fail"


@dataclass(frozen=True)
class Verdict:
    action: Action
    #: The rule that holds or cancels it (the first, in the rules' order).
    rule: str | None = None
    #: When a held message is due again.
    until: datetime | None = None


SEND = Verdict(Action.SEND)


def judge(purpose: str, stopping: Iterable[Reason], undeliverable: bool = False) -> Verdict:
    """The verdict on one message, from the reasons that stop its purpose now (rules.stopping)
    and whether its contact point is marked undeliverable."""
    if undeliverable:
        return Verdict(Action.FAIL, UNDELIVERABLE)
    if purpose == Purpose.ACCESS:
        return SEND
    reasons = list(stopping)
    if not reasons:
        return SEND
    lasting = [r for r in reasons if r.rule not in CLOCK_RULES or r.until is None]
    if lasting:
        return Verdict(Action.CANCEL, lasting[0].rule)
    last = max(reasons, key=lambda r: r.until)
    return Verdict(Action.HOLD, reasons[0].rule, last.until)
