"""Canonical snapshots: an account reduced to what the rules can tell apart, decided once.

`rules.decide` runs on a canonical snapshot, memoised: every account that looks the same to
the rules shares one call. Why a canonical snapshot decides exactly what the account's own
snapshot decides (the property test in tests/test_contact_bulk.py checks it against
`service.decide` on random accounts):

* Contact point values are compared by the rules only for equality with the destination asked
  about or with an attempt's destination. Values are replaced by tokens with the same equalities,
  found by the keyed digests (`value_digest`, `destination_digest`), so nothing is decrypted
  except, for the Massachusetts overlay only, the destinations of telephone attempts; and only
  the point asked about is kept, where no rule looks up another.
* The snapshot holds attempts at or before `at` and holds started at or before `at`; every
  re-decision for `next_allowed_at` happens later still. So a hold's start never matters, a hold
  not in force at `at` never is again, and with a hold without end in force the answer is the
  holds' reasons then the packs' (`with_holds`); an attempt matters only through its local day
  in the home zone (its time becomes noon of that day, or `at` if earlier), attempts the packs
  never count are dropped, and under the US rules alone with fewer than seven calls only the last
  conversation counts (see `Readers`, `bulk_looks.attempts`).
* The validation period only ever limits (it never blocks), so what matters is whether `at`
  falls inside it.

The shortcuts rely on what the pack checks read; a pack with a check not listed in `Readers`
sends its accounts to `service.decide` itself, so a new rule is never answered wrongly here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple

from portal.accounts.validation import period_end
from portal.contact import localtime as lt
from portal.contact import rules
from portal.contact.rulebook import Purpose
from portal.contact.snapshot import Attempt, ContactPointInfo, Hold, Preferences, Snapshot
from portal.crypto import lookup_digest

#: Attempts older than this are never counted by the US and CN call rules (7 local days, plus
#: room for a daylight-saving shift): see `Readers`.
RECENT = timedelta(hours=192)
US_CALLS = frozenset({rules.us_call_frequency, rules.us_call_after_conversation})
CN_CALLS = frozenset({rules.cn_effective_calls, rules.cn_unanswered_attempts})
MA_CALLS = frozenset({rules.ma_call_frequency, rules.ma_visit_frequency})
#: Checks that read neither attempts nor contact point values beyond what the tokens keep.
NO_ATTEMPTS = frozenset({
    rules.us_inconvenient_hours, rules.uk_reasonable_hours, rules.cn_quiet_hours,
    rules.named_times, rules.workplace, rules.opt_out, rules.validation_period,
    rules.time_barred, rules.cn_third_party, rules.cn_private_channels, rules.workplace_email,
})
#: A hold's start, once it is known to be at or before `at` (the rules only ask "started later?").
LONG_AGO = datetime(1, 1, 1, tzinfo=UTC)
NOON = time(12)
#: The token of a destination that equals no contact point and is not the one asked about.
ELSEWHERE = "~"
DEFAULT_PREFERENCES = Preferences()
NO_POLICY: frozenset[str] = frozenset()


class Ask(NamedTuple):
    """One decision wanted: may we contact this account's borrower so, then?"""

    account_id: int
    channel: str
    destination: str | None
    at: datetime
    #: What the communication is for, where the asker said (None: collection). An ask with a
    #: purpose is decided by `service.decide` itself (a cease's notices are few).
    purpose: Purpose | None = None


@dataclass
class Memo:
    """Decisions and look-ups shared across the batches of one bulk request (or one scrub)."""

    decisions: dict = field(default_factory=dict)
    validation: dict = field(default_factory=dict)
    digests: dict = field(default_factory=dict)
    days: dict = field(default_factory=dict)
    period_ends: dict = field(default_factory=dict)
    readers: dict = field(default_factory=dict)
    shapes: dict = field(default_factory=dict)
    preferences: dict = field(default_factory=dict)
    holds: dict = field(default_factory=dict)
    in_force: dict = field(default_factory=dict)
    combined: dict = field(default_factory=dict)
    policies: dict = field(default_factory=dict)

    def size(self) -> int:
        """How much it holds: a caller may start afresh past some size."""
        return sum(len(v) for v in vars(self).values())

    def digest(self, value: str, purpose: str) -> bytes:
        """The keyed digest of a value, worked out once per value (it is slow by design)."""
        key = (value, purpose)
        found = self.digests.get(key)
        if found is None:
            if len(self.digests) > 100_000:  # destinations are mostly seen once
                self.digests.clear()
            found = self.digests[key] = lookup_digest(value, purpose)
        return found

    def local_day(self, at: datetime, zone: str) -> date:
        """The local date of `at` in a zone: a million asks share a few instants and zones."""
        key = (at, zone)
        found = self.days.get(key)
        if found is None:
            found = self.days[key] = lt.local(at, zone).date()
        return found

    def period_end(self, sent_on: date) -> date:
        """The validation period's last day for a notice sent that day, counted once per day."""
        found = self.period_ends.get(sent_on)
        if found is None:
            found = self.period_ends[sent_on] = period_end(sent_on)
        return found


@dataclass(frozen=True, slots=True)
class Readers:
    """Which attempts the packs of a jurisdiction may ever count (every version, not just today's).

    us: call attempts of the last RECENT, for a call (US call frequency and conversation);
    cn: call attempts of the local day, for a call; ma: telephone attempts of the whole
    lookback, for a call or a text, and visits of the whole lookback, for a visit; unknown: a
    check this module does not know: ask the service.
    """

    us: bool
    cn: bool
    ma: bool
    unknown: bool


def readers(memo: Memo, jurisdiction: str, region: str | None) -> Readers:
    """The Readers of a jurisdiction's packs (and its state's overlay), worked out once."""
    key = (jurisdiction, region)
    found = memo.readers.get(key)
    if found is None:
        keys = [jurisdiction] + ([f"{jurisdiction}-{region}"] if region else [])
        checks = {check for k in keys for pack in rules.PACKS.get(k, [])
                  for _, check in pack.checks}
        found = memo.readers[key] = Readers(
            us=bool(checks & US_CALLS), cn=bool(checks & CN_CALLS), ma=bool(checks & MA_CALLS),
            unknown=bool(checks - US_CALLS - CN_CALLS - MA_CALLS - NO_ATTEMPTS),
        )
    return found


def token(destination: str | None) -> str | None:
    """The destination asked about, as canonical snapshots name it."""
    if destination is None or destination == "":
        return destination
    return "D"


def in_validation(memo: Memo, jurisdiction: str, sent_on: date | None, at: datetime,
                  every: tuple[str, ...]) -> bool:
    """Is `at` inside the validation period on the borrower's earliest date, in every zone they
    may be in (rules.borrower_date; US accounts only)?"""
    if jurisdiction != "US" or sent_on is None:
        return False
    return min(memo.local_day(at, z) for z in every) <= memo.period_end(sent_on)


def canonical_time(real: datetime, at: datetime, zone: str) -> datetime:
    """An instant on the same local day as `real`, at or before `at`: noon, or `at` if earlier."""
    day = lt.local(real, zone).date()
    noon = lt.at_local(day, NOON, zone)
    if lt.local(noon, zone).date() != day:  # no noon that day: keep the real instant
        return real
    return min(noon, at)


def zones(home: str, all_zones) -> tuple[str, ...]:
    """Every zone, the home zone first: what a canonical snapshot's one address carries."""
    return (home, *sorted(set(all_zones) - {home}))


def decide(memo: Memo, ask: Ask, jurisdiction: str, region: str | None,
           points: tuple[ContactPointInfo, ...], holds: tuple[Hold, ...] = (),
           preferences: Preferences = DEFAULT_PREFERENCES, attempts: tuple[Attempt, ...] = (),
           validating: bool = False, policy: frozenset[str] = NO_POLICY) -> rules.Decision:
    """rules.decide on a canonical snapshot, once per distinct one."""
    asked = token(ask.destination)
    key = (ask.channel, asked, ask.at, ask.at.utcoffset(), jurisdiction, region, points, holds,
           preferences, attempts, validating, policy)
    found = memo.decisions.get(key)
    if found is None:
        snapshot = Snapshot(
            jurisdiction=jurisdiction, region=region, contact_points=points, holds=holds,
            preferences=preferences, attempts=attempts,
            validation_ends=date.max if validating else None,
            policy={rule: False for rule in policy},
        )
        found = memo.decisions[key] = rules.decide(snapshot, ask.channel, asked, ask.at)
    return found


def _in_force(memo: Memo, holds: tuple[Hold, ...], ask: Ask) -> tuple[tuple[str, rules.Block], ...]:
    """rules.holds_in_force for these holds (destination-wide: the service never narrows one)."""
    key = (holds, ask.channel, ask.at)
    found = memo.in_force.get(key)
    if found is None:
        found = memo.in_force[key] = tuple(rules.holds_in_force(
            Snapshot("", None, (), holds=holds), rules.Request(ask.channel, None, ask.at)))
    return found


def with_holds(memo: Memo, in_force: tuple, base: rules.Decision) -> rules.Decision:
    """The decision when a hold without end is in force: blocked, nothing to wait for, the holds'
    reasons first and then what the packs said without them (less what a hold already blocks)."""
    key = (in_force, base)
    found = memo.combined.get(key)
    if found is None:
        held = tuple(rules._reason(rule, block) for rule, block in in_force)
        ruled = {reason.rule for reason in held}
        found = memo.combined[key] = rules.Decision(
            False, held + tuple(r for r in base.reasons if r.rule not in ruled), None)
    return found


def holds_apart(memo: Memo, ask: Ask, holds: tuple[Hold, ...],
                policy: frozenset[str]) -> tuple[tuple | None, bool]:
    """(holds in force, or None; whether the canonical snapshot must carry the holds).

    A hold not in force at `at` never is later (it started before `at`, and lifts for good), nor
    is one whose rule the agency switched off; with a hold without end in force,
    `next_allowed_at` is None whatever else blocks. Only holds in force that all end need the
    rules to re-decide with them."""
    if not holds:
        return None, False
    in_force = _in_force(memo, holds, ask)
    if policy:
        in_force = tuple((rule, block) for rule, block in in_force if rule not in policy)
    if not in_force:
        return None, False
    if any(block.until is None for _, block in in_force):
        return in_force, False
    return None, True
