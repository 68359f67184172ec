"""May we contact this person now? The pure decision engine over a Snapshot. No Flask, no database.

Each check looks at one rule and answers with a Block (blocked until when, or limited) or None.
`decide` runs every check of the account's rule pack, so a decision never says "allowed" without
having looked at every rule; `next_allowed_at` is found by re-deciding at each blocker's end.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from portal.accounts.zones import everywhere
from portal.contact import localtime as lt
from portal.contact.rulebook import POLICY_RULES, RULES, Purpose
from portal.contact.snapshot import (
    CHANNELS,
    NOT_CONNECTED,
    TELEPHONE,
    TIMED_CHANNELS,
    Snapshot,
)

DAY_START, DAY_END = time(8), time(21)
CN_QUIET_START, CN_QUIET_END = time(22), time(8)
US_CALLS_PER_WEEK = 7
MA_PERSONAL_PER_7_DAYS = 2
MA_OTHER_PER_30_DAYS = 2
#: 209 CMR 18.17(6): one household visit in any 30 days per debt.
MA_VISITS_PER_30_DAYS = 1
#: A visit where no one in the household was contacted does not count (209 CMR 18.17(6)).
NO_ONE_CONTACTED = frozenset({"no_answer"})
CN_EFFECTIVE_CALLS_PER_DAY = 3
CN_UNANSWERED_PER_NUMBER_PER_DAY = 6
UNANSWERED = frozenset({"no_answer", "busy", "voicemail"})


@dataclass(frozen=True)
class Request:
    channel: str
    destination: str | None
    at: datetime
    #: What the communication is for, where the asker says (None: collection, as a dialer's).
    purpose: Purpose | None = None


@dataclass(frozen=True)
class Block:
    """A rule's answer: blocked until `until` (None: until a person acts), or only limited."""

    until: datetime | None
    limit_only: bool = False


@dataclass(frozen=True)
class Reason:
    rule: str
    citation: str
    borrower_text: str
    agent_text: str
    until: datetime | None
    effect: str  # "block" or "limit"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reasons: tuple[Reason, ...]
    next_allowed_at: datetime | None


Check = Callable[[Snapshot, Request], Block | None]


class NoRulePack(ValueError):
    """No rule pack of the borrower's jurisdiction was in force at the instant asked about: the
    engine cannot judge it, so it refuses precisely rather than guess (API code no_rule_pack)."""

    code = "no_rule_pack"

    def __init__(self, jurisdiction: str, at: datetime, earliest: datetime | None):
        self.jurisdiction, self.at, self.earliest = jurisdiction, at, earliest
        since = f"; the earliest applies from {earliest.isoformat()}" if earliest else ""
        super().__init__(f"no rule pack for {jurisdiction} in force at {at.isoformat()}{since}")


# --- helpers ------------------------------------------------------------------------------------


def _zones(s: Snapshot) -> tuple[str, ...]:
    """Every zone the borrower may be in: their contact points' or, where none tells, every zone
    of their country (1006.6(b)(1)(i): a US borrower with no known location is judged in every
    US zone, never in UTC)."""
    return s.zones() or everywhere(s.jurisdiction) or ("UTC",)


def _home_zone(s: Snapshot) -> str:
    """The zone days are counted in: the mailing address's, else the first known."""
    for point in s.contact_points:
        if point.kind == "address" and point.time_zones:
            return point.time_zones[0]
    return _zones(s)[0]


def _local_day(at: datetime, zone: str) -> date:
    return lt.local(at, zone).date()


def _first_day_below(days_counted: list[date], today: date, window: int, limit: int) -> date:
    """The first day from today on whose trailing `window` days hold fewer than `limit`."""
    day = today
    while sum(1 for d in days_counted if day - timedelta(days=window - 1) <= d <= day) >= limit:
        day += timedelta(days=1)
    return day


def _latest_common_start(s: Snapshot, at: datetime, start: time, end: time) -> datetime | None:
    """Earliest instant >= at that is inside [start, end) in every zone; None if there is none."""
    zones = _zones(s)
    candidate = at
    for _ in range(4 * len(zones) + 4):
        moved = max(lt.next_window_start(candidate, start, end, z) for z in zones)
        if moved == candidate:
            return candidate
        candidate = moved
    return None


def _consented(s: Snapshot, r: Request) -> bool:
    """Inside a window the borrower directly agreed to, for this channel, on this weekday, in
    their home zone (12 CFR 1006.6(b)(1): "without the prior consent of the consumer")."""
    zone = _home_zone(s)
    here = lt.local(r.at, zone)
    for window in s.preferences.consented_hours:
        if window.channels is not None and r.channel not in window.channels:
            continue
        if not lt.in_window(here.time(), window.start, window.end):
            continue
        # A window past midnight belongs to the day it started on.
        day = here.date() - timedelta(days=1) if (
            window.start > window.end and here.time() < window.end) else here.date()
        if window.days is None or day.weekday() in window.days:
            return True
    return False


def _outside_hours(s: Snapshot, r: Request, start: time, end: time) -> Block | None:
    if r.channel not in TIMED_CHANNELS:
        return None
    if _consented(s, r):
        return None
    opens = _latest_common_start(s, r.at, start, end)
    if opens == r.at:
        return None
    return Block(opens)


# --- hold rules: a recorded fact pauses contact ------------------------------------------------


def holds_in_force(s: Snapshot, r: Request) -> list[tuple[str, Block]]:
    found = []
    for hold in s.holds:
        if hold.started > r.at or (hold.until is not None and r.at >= hold.until):
            continue
        if hold.channels is not None and r.channel not in hold.channels:
            continue
        if hold.destination is not None and hold.destination != r.destination:
            continue
        found.append((hold.rule, Block(hold.until)))
    return found


# --- time and place rules ----------------------------------------------------------------------


def us_inconvenient_hours(s: Snapshot, r: Request) -> Block | None:
    return _outside_hours(s, r, DAY_START, DAY_END)


def uk_reasonable_hours(s: Snapshot, r: Request) -> Block | None:
    return _outside_hours(s, r, DAY_START, DAY_END)


def cn_quiet_hours(s: Snapshot, r: Request) -> Block | None:
    return _outside_hours(s, r, CN_QUIET_END, CN_QUIET_START)


def named_times(s: Snapshot, r: Request) -> Block | None:
    zone = _home_zone(s)
    clock = lt.local(r.at, zone).time()
    for window in s.preferences.inconvenient:
        if window.channels is not None and r.channel not in window.channels:
            continue
        if r.channel in TIMED_CHANNELS and lt.in_window(clock, window.start, window.end):
            return Block(lt.window_end(r.at, window.start, window.end, zone))
    return None


def workplace_email(s: Snapshot, r: Request) -> Block | None:
    """No email to an address known to be employer-provided, unless the borrower used it with us
    or consented to it (1006.22(f)(3))."""
    if r.channel != "email":
        return None
    point = s.point(r.destination)
    if point is not None and point.employer_provided and not point.employer_consented:
        return Block(None)
    return None


def workplace(s: Snapshot, r: Request) -> Block | None:
    point = s.point(r.destination)
    if s.preferences.workplace_prohibited and point is not None and point.label == "work":
        return Block(None)
    return None


def opt_out(s: Snapshot, r: Request) -> Block | None:
    prefs = s.preferences
    point = s.point(r.destination)
    if (
        r.channel in prefs.opted_out_channels
        or (r.destination and r.destination in prefs.opted_out_destinations)
        or (point is not None and point.opted_out)
    ):
        return Block(None)
    return None


def validation_period(s: Snapshot, r: Request) -> Block | None:
    if s.validation_ends is not None and borrower_date(s, r.at) <= s.validation_ends:
        return Block(None, limit_only=True)
    return None


def borrower_date(s: Snapshot, at: datetime) -> date:
    """The borrower's date at `at`, the most protective one: the earliest in every zone they may
    be in (as dispute intake judges it: localtime.local_today)."""
    return min(_local_day(at, z) for z in _zones(s))


def time_barred(s: Snapshot, r: Request) -> Block | None:
    return Block(None, limit_only=True) if s.time_barred else None


# --- frequency rules ---------------------------------------------------------------------------


def us_call_frequency(s: Snapshot, r: Request) -> Block | None:
    if r.channel != "call":
        return None
    zone = _home_zone(s)
    today = _local_day(r.at, zone)
    days = [_local_day(a.at, zone) for a in s.attempts if counts_as_call(a) and a.at <= r.at]
    first = _first_day_below(days, today, 7, US_CALLS_PER_WEEK)
    return None if first == today else Block(lt.day_start(first, zone))


def counts_as_call(a) -> bool:
    """A call the 7-in-7 counts: placed by us, connected to the dialed number, not made with the
    borrower's prior consent of the last 7 days (1006.14(b)(3))."""
    return (a.channel == "call" and a.direction == "outbound"
            and a.outcome not in NOT_CONNECTED and not a.with_consent)


def us_call_after_conversation(s: Snapshot, r: Request) -> Block | None:
    """A conversation either way (the borrower's own call too) starts the 7 days."""
    if r.channel != "call":
        return None
    zone = _home_zone(s)
    talks = [a.at for a in s.attempts
             if a.channel == "call" and a.outcome == "conversation" and a.at <= r.at]
    if not talks:
        return None
    free_day = _local_day(max(talks), zone) + timedelta(days=7)  # conversation day is day 1
    if _local_day(r.at, zone) >= free_day:
        return None
    return Block(lt.day_start(free_day, zone))


def ma_call_frequency(s: Snapshot, r: Request) -> Block | None:
    if r.channel not in TELEPHONE:
        return None
    zone = _home_zone(s)
    today = _local_day(r.at, zone)

    def personal(destination: str | None) -> bool:
        point = s.point(destination)
        return point is None or point.label != "work"

    target_personal = personal(r.destination)
    window, limit = (7, MA_PERSONAL_PER_7_DAYS) if target_personal else (30, MA_OTHER_PER_30_DAYS)
    days = [
        _local_day(a.at, zone) for a in s.attempts
        if a.channel in TELEPHONE and a.direction == "outbound" and a.at <= r.at
        and personal(a.destination) == target_personal
    ]
    first = _first_day_below(days, today, window, limit)
    return None if first == today else Block(lt.day_start(first, zone))


def ma_visit_frequency(s: Snapshot, r: Request) -> Block | None:
    """209 CMR 18.17(6)-(7): one household visit in 30 days per debt (a visit where no one was
    contacted does not count); the workplace only at the borrower's request, which we never
    record, so never (the conservative reading)."""
    if r.channel != "visit":
        return None
    point = s.point(r.destination)
    if point is not None and point.label == "work":
        return Block(None)
    zone = _home_zone(s)
    today = _local_day(r.at, zone)
    days = [_local_day(a.at, zone) for a in s.attempts
            if a.channel == "visit" and a.direction == "outbound" and a.at <= r.at
            and a.outcome not in NO_ONE_CONTACTED]
    first = _first_day_below(days, today, 30, MA_VISITS_PER_30_DAYS)
    return None if first == today else Block(lt.day_start(first, zone))


def cn_effective_calls(s: Snapshot, r: Request) -> Block | None:
    if r.channel != "call":
        return None
    zone = _home_zone(s)
    today = _local_day(r.at, zone)
    answered = sum(1 for a in s.attempts if a.channel == "call" and a.outcome == "conversation"
                   and a.at <= r.at and _local_day(a.at, zone) == today)
    if answered < CN_EFFECTIVE_CALLS_PER_DAY:
        return None
    return Block(lt.day_start(today + timedelta(days=1), zone))


def cn_unanswered_attempts(s: Snapshot, r: Request) -> Block | None:
    if r.channel != "call":
        return None
    zone = _home_zone(s)
    today = _local_day(r.at, zone)
    dials = sum(1 for a in s.attempts if a.channel == "call" and a.outcome in UNANSWERED
                and a.destination == r.destination and a.at <= r.at
                and _local_day(a.at, zone) == today)
    if dials < CN_UNANSWERED_PER_NUMBER_PER_DAY:
        return None
    return Block(lt.day_start(today + timedelta(days=1), zone))


def cn_third_party(s: Snapshot, r: Request) -> Block | None:
    return Block(None) if r.channel == "third_party" else None


def cn_private_channels(s: Snapshot, r: Request) -> Block | None:
    if r.channel == "visit" and not s.preferences.consented_visits:
        return Block(None)
    return None


# --- rule packs ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RulePack:
    """A jurisdiction's rules as in force from `effective_from` (00:00 on `zone`'s clock, per
    its `source`); a new version is a new entry, never an edit of an old one."""

    id: str
    version: str
    effective_from: date
    zone: str
    source: str
    checks: tuple[tuple[str, Check], ...]

    def starts(self) -> datetime:
        """The instant the pack took effect."""
        return lt.at_local(self.effective_from, time(0), self.zone)


US = RulePack("US", "reg-f-2021", date(2021, 11, 30), "America/New_York",
              "12 CFR 1006 (Regulation F), in force 2021-11-30", (
    ("us.inconvenient-hours", us_inconvenient_hours),
    ("us.inconvenient-time-named", named_times),
    ("us.workplace-prohibited", workplace),
    ("us.workplace-email", workplace_email),
    ("us.channel-opt-out", opt_out),
    ("us.call-frequency", us_call_frequency),
    ("us.call-after-conversation", us_call_after_conversation),
    ("us.validation-period", validation_period),
    ("us.time-barred", time_barred),
))
US_MA = RulePack("US-MA", "940-cmr-7+209-cmr-18", date(2021, 11, 30), "America/New_York",
                 "940 CMR 7 (creditors); 209 CMR 18 (debt collectors)", (
    ("us-ma.call-frequency", ma_call_frequency),
    ("us-ma.visit-frequency", ma_visit_frequency),
))
GB = RulePack("GB", "conc-7-2024", date(2024, 1, 1), "Europe/London", "FCA CONC 7", (
    ("uk.contact-reasonable", uk_reasonable_hours),
    ("uk.contact-reasonable", named_times),
    ("uk.contact-reasonable", workplace),
    # CONC 7.9.4R: the borrower's reasonable request about how they are contacted is law.
    ("uk.contact-request", opt_out),
))
#: GB/T 45251-2025 alone: in force since 2025-02-28.
CN_GBT = RulePack("CN", "gbt-45251-2025", date(2025, 2, 28), "Asia/Shanghai",
                  "GB/T 45251-2025, in force 2025-02-28", (
    ("cn.quiet-hours", cn_quiet_hours),
    ("cn.effective-calls-per-day", cn_effective_calls),
    ("cn.third-party", cn_third_party),
    ("cn.contact-request", opt_out),
))
#: With the CBA consumer-loan collection guideline (2026), the newer source: its date is the
#: place a compliance officer checks and corrects.
CN_CBA = RulePack("CN", "cba-2026", date(2026, 1, 1), "Asia/Shanghai",
                  "GB/T 45251-2025 and the CBA consumer-loan collection guideline (2026)", (
    ("cn.quiet-hours", cn_quiet_hours),
    ("cn.effective-calls-per-day", cn_effective_calls),
    ("cn.unanswered-attempts-per-day", cn_unanswered_attempts),
    ("cn.third-party", cn_third_party),
    ("cn.private-channels", cn_private_channels),
    ("cn.contact-request", opt_out),
))
PACKS: dict[str, list[RulePack]] = {"US": [US], "US-MA": [US_MA], "GB": [GB],
                                    "CN": [CN_GBT, CN_CBA]}


def packs_for(jurisdiction: str, region: str | None, on: date | datetime) -> list[RulePack]:
    """The pack versions in force at `on` (an instant, or a whole day): the country's, then any
    state overlay. NoRulePack when the country has none in force then."""

    def applies(pack: RulePack) -> bool:
        if isinstance(on, datetime):
            return pack.starts() <= on
        return pack.effective_from <= on

    chosen = []
    for key in [jurisdiction] + ([f"{jurisdiction}-{region}"] if region else []):
        versions = [p for p in PACKS.get(key, []) if applies(p)]
        if versions:
            chosen.append(max(versions, key=lambda p: p.effective_from))
        elif key == jurisdiction:  # an overlay never stands without its country's pack
            known = [p.starts() for p in PACKS.get(key, [])]
            at = on if isinstance(on, datetime) else lt.at_local(on, time(0), "UTC")
            raise NoRulePack(jurisdiction, at, min(known) if known else None)
    return chosen


# --- deciding -----------------------------------------------------------------------------------


def _reason(rule_id: str, block: Block) -> Reason:
    info = RULES[rule_id]
    return Reason(rule_id, info.citation, info.borrower_text, info.agent_text, block.until,
                  "limit" if block.limit_only else "block")


def _let_through(rule_id: str, block: Block, r: Request) -> Block:
    """A block that does not stop the asker's purpose on this channel only limits it."""
    if r.purpose is None or block.limit_only or RULES[rule_id].stops_on(r.purpose, r.channel):
        return block
    return Block(block.until, limit_only=True)


def _evaluate(s: Snapshot, r: Request) -> list[Reason]:
    reasons: list[Reason] = []
    packs = packs_for(s.jurisdiction, s.region, r.at)
    for rule_id, block in holds_in_force(s, r):
        if not switched_off(s, rule_id):
            reasons.append(_reason(rule_id, _let_through(rule_id, block, r)))
    for pack in packs:
        for rule_id, check in pack.checks:
            if switched_off(s, rule_id):
                continue  # a policy rule this agency switched off
            block = check(s, r)
            if block is not None:
                block = _let_through(rule_id, block, r)
            if block is not None and not any(x.rule == rule_id and x.effect == "block"
                                             for x in reasons):
                reasons.append(_reason(rule_id, block))
    return reasons


def switched_off(s: Snapshot, rule_id: str) -> bool:
    """Did the agency switch this rule off? Only a policy rule can be: a stored map naming the
    law is ignored (and reported: rulebook.law_in_policy)."""
    return rule_id in POLICY_RULES and not s.policy.get(rule_id, True)


def decide(s: Snapshot, channel: str, destination: str | None, at: datetime,
           purpose: Purpose | None = None) -> Decision:
    """The answer for one channel, destination and instant, with every reason and when it lifts.
    With a `purpose`, a rule that lets that purpose through on the channel (a cease's notices by
    letter or email) only limits it."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    if at.tzinfo is None:
        raise ValueError("the instant must carry a time zone")
    reasons = tuple(_evaluate(s, Request(channel, destination, at, purpose)))
    blockers = [x for x in reasons if x.effect == "block"]
    if not blockers:
        return Decision(True, reasons, None)
    return Decision(False, reasons, _next_allowed(s, Request(channel, destination, at, purpose),
                                                  blockers))


def stopping(decision: Decision, purpose: Purpose,
             channel: str | None = None) -> tuple[Reason, ...]:
    """The blocks that stop a message of this purpose (on this channel, where a rule lets a
    purpose through on some only): each rule's entry says which it stops."""
    return tuple(r for r in decision.reasons
                 if r.effect == "block" and RULES[r.rule].stops_on(purpose, channel))


def _next_allowed(s: Snapshot, asked: Request, blockers) -> datetime | None:
    """Re-decide at the latest end of what blocks now, until nothing does (or a person must act)."""
    for _ in range(16):
        if any(b.until is None for b in blockers):
            return None
        candidate = max(b.until for b in blockers)
        blockers = [x for x in _evaluate(s, Request(asked.channel, asked.destination, candidate,
                                                    asked.purpose))
                    if x.effect == "block"]
        if not blockers:
            return candidate
    return None
