"""May we contact this person now? The pure decision engine over a Snapshot. No Flask, no database.

Each check looks at one rule and answers with a Block (blocked until when, or limited) or None.
`decide` runs every check of the account's rule pack, so a decision never says "allowed" without
having looked at every rule; `next_allowed_at` is found by re-deciding at each blocker's end.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from portal.contact import localtime as lt
from portal.contact.rulebook import RULES, Purpose
from portal.contact.snapshot import CHANNELS, TELEPHONE, TIMED_CHANNELS, Snapshot

DAY_START, DAY_END = time(8), time(21)
CN_QUIET_START, CN_QUIET_END = time(22), time(8)
US_CALLS_PER_WEEK = 7
MA_PERSONAL_PER_7_DAYS = 2
MA_OTHER_PER_30_DAYS = 2
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


# --- helpers ------------------------------------------------------------------------------------


def _home_zone(s: Snapshot) -> str:
    """The zone days are counted in: the mailing address's, else the first known."""
    for point in s.contact_points:
        if point.kind == "address" and point.time_zones:
            return point.time_zones[0]
    zones = s.zones()
    return zones[0] if zones else "UTC"


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
    zones = s.zones() or ("UTC",)
    candidate = at
    for _ in range(8):
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
    if s.validation_ends is not None and _local_day(r.at, _home_zone(s)) <= s.validation_ends:
        return Block(None, limit_only=True)
    return None


def time_barred(s: Snapshot, r: Request) -> Block | None:
    return Block(None, limit_only=True) if s.time_barred else None


# --- frequency rules ---------------------------------------------------------------------------


def us_call_frequency(s: Snapshot, r: Request) -> Block | None:
    if r.channel != "call":
        return None
    zone = _home_zone(s)
    today = _local_day(r.at, zone)
    days = [_local_day(a.at, zone) for a in s.attempts if a.channel == "call" and a.at <= r.at]
    first = _first_day_below(days, today, 7, US_CALLS_PER_WEEK)
    return None if first == today else Block(lt.day_start(first, zone))


def us_call_after_conversation(s: Snapshot, r: Request) -> Block | None:
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
        if a.channel in TELEPHONE and a.at <= r.at and personal(a.destination) == target_personal
    ]
    first = _first_day_below(days, today, window, limit)
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
    """A jurisdiction's rules as in force from `effective`; a new version is a new entry."""

    id: str
    version: str
    effective: date
    checks: tuple[tuple[str, Check], ...]


US = RulePack("US", "reg-f-2021", date(2021, 11, 30), (
    ("us.inconvenient-hours", us_inconvenient_hours),
    ("us.inconvenient-time-named", named_times),
    ("us.workplace-prohibited", workplace),
    ("us.channel-opt-out", opt_out),
    ("us.call-frequency", us_call_frequency),
    ("us.call-after-conversation", us_call_after_conversation),
    ("us.validation-period", validation_period),
    ("us.time-barred", time_barred),
))
US_MA = RulePack("US-MA", "940-cmr-7", date(2021, 11, 30), (
    ("us-ma.call-frequency", ma_call_frequency),
))
GB = RulePack("GB", "conc-7-2024", date(2024, 1, 1), (
    ("uk.contact-reasonable", uk_reasonable_hours),
    ("uk.contact-reasonable", named_times),
    ("uk.contact-reasonable", workplace),
    ("policy.channel-opt-out", opt_out),
))
CN = RulePack("CN", "gbt-45251-2025", date(2025, 10, 1), (
    ("cn.quiet-hours", cn_quiet_hours),
    ("cn.effective-calls-per-day", cn_effective_calls),
    ("cn.unanswered-attempts-per-day", cn_unanswered_attempts),
    ("cn.third-party", cn_third_party),
    ("cn.private-channels", cn_private_channels),
    ("policy.channel-opt-out", opt_out),
))
PACKS: dict[str, list[RulePack]] = {"US": [US], "US-MA": [US_MA], "GB": [GB], "CN": [CN]}


def packs_for(jurisdiction: str, region: str | None, on: date) -> list[RulePack]:
    """The pack versions in force on `on`: the country's, then any state overlay."""
    keys = [jurisdiction] + ([f"{jurisdiction}-{region}"] if region else [])
    chosen = []
    for key in keys:
        versions = [p for p in PACKS.get(key, []) if p.effective <= on]
        if versions:
            chosen.append(max(versions, key=lambda p: p.effective))
    if not chosen:
        raise ValueError(f"no rule pack for {jurisdiction} in force on {on}")
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
    for rule_id, block in holds_in_force(s, r):
        if s.policy.get(rule_id, True):
            reasons.append(_reason(rule_id, _let_through(rule_id, block, r)))
    for pack in packs_for(s.jurisdiction, s.region, r.at.date()):
        for rule_id, check in pack.checks:
            if not s.policy.get(rule_id, True):
                continue  # a policy rule this agency switched off
            block = check(s, r)
            if block is not None:
                block = _let_through(rule_id, block, r)
            if block is not None and not any(x.rule == rule_id and x.effect == "block"
                                             for x in reasons):
                reasons.append(_reason(rule_id, block))
    return reasons


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
