"""The two looks at a pair of PAIRS_SQL: its row alone (the first), or the account in full.

Most accounts are decided from their row alone: the shape, what the account has of its own and
what that points to. The others (opt-outs, preferences naming a point, attempts that may
count, holds that end, unusual addresses) are read in full and decided on their canonical
snapshot; a pack with a check `canonical.Readers` does not know goes to `service.decide`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import timedelta

from portal.accounts.models import Account
from portal.contact import canonical, rules, service
from portal.contact import localtime as lt
from portal.contact.bulk_sql import EPOCH, RS, SEP, Detail, Pair
from portal.contact.canonical import (
    DEFAULT_PREFERENCES,
    ELSEWHERE,
    LONG_AGO,
    NO_POLICY,
    RECENT,
    Ask,
    Memo,
    Readers,
    canonical_time,
    holds_apart,
    in_validation,
    readers,
    token,
    with_holds,
    zones,
)
from portal.contact.rulebook import POLICY_RULES
from portal.contact.snapshot import (
    TELEPHONE,
    Attempt,
    ContactPointInfo,
    Hold,
    Preferences,
    Snapshot,
    stored_preferences,
)
from portal.crypto import opened
from portal.extensions import db


@dataclass(frozen=True, slots=True)
class Shape:
    """What PAIRS_SQL's `shape` says: all the rules read of an account with nothing of its own."""

    jurisdiction: str
    region: str | None
    home: str
    zones: tuple[str, ...]  # distinct, the home zone first
    unknown: bool  # its packs have a check this module does not know


def shape(memo: Memo, text: str) -> Shape:
    """PAIRS_SQL's `shape`, parsed once per distinct one."""
    found = memo.shapes.get(text)
    if found is None:
        country, region, home, every = text.split(SEP)
        # service.jurisdiction_of: the state counts only in the US (and '' is no state).
        region = (region or None) if country == "US" else None
        found = memo.shapes[text] = Shape(country, region, home, zones(home, every.split()),
                                          readers(memo, country, region).unknown)
    return found


def _preferences_of(memo: Memo, text: str) -> Preferences | None:
    """PAIRS_SQL's preferences, when they can be read without knowing which contact point is
    which (no opted-out points, no workplace): None if they cannot."""
    found = memo.preferences.get(text, False)
    if found is False:
        data = json.loads(text)
        found = None
        if isinstance(data, dict) and not data.get("opted_out_points") \
                and not data.get("workplace_prohibited"):
            found = stored_preferences(data, {})
        memo.preferences[text] = found
    return found


def _holds(memo: Memo, text: str) -> tuple[Hold, ...]:
    """PAIRS_SQL's holds as the service's snapshot has them (its start does not matter)."""
    found = memo.holds.get(text)
    if found is None:
        found = []
        for part in text.split(RS):
            rule, channels, until = part.split(SEP)
            found.append(Hold(rule, LONG_AGO,
                              until=EPOCH + timedelta(microseconds=int(until)) if until else None,
                              channels=frozenset(channels.split(",")) if channels else None))
        found = memo.holds[text] = tuple(found)
    return found


def _policy(memo: Memo, text: str | None) -> frozenset[str]:
    """The agency's policy as the rules read it (`rules.switched_off`): the policy rules it
    switched off (a law rule it names is ignored)."""
    if text is None:
        return NO_POLICY
    found = memo.policies.get(text)
    if found is None:
        found = memo.policies[text] = frozenset(
            rule for rule, on in json.loads(text).items() if not on and rule in POLICY_RULES)
    return found


def detail(memo: Memo, pair: Pair) -> Detail:
    """A second look at one pair, from what PAIRS_SQL read of it (points, attempts maybe)."""
    found = Detail(pair, _holds(memo, pair.holds) if pair.holds else (),
                   json.loads(pair.preferences) if pair.preferences else {},
                   _policy(memo, pair.policy))
    if pair.points is not None:
        found.points = json.loads(pair.points)
    if pair.attempts is not None:
        found.attempts = [(channel, outcome, EPOCH + timedelta(microseconds=at), digest, sealed,
                           direction, with_consent)
                          for channel, outcome, at, digest, sealed, direction, with_consent
                          in json.loads(pair.attempts)]
    return found


def attempts_may_count(seen: Readers, pair: Pair, channel: str) -> bool:
    """Could the rules count any of the pair's attempts (see `Readers`)? From PAIRS_SQL's row."""
    if not pair.attempted:
        return False
    if seen.unknown:
        return True
    if channel == "call" and seen.us and (pair.called_often or pair.talked_recently):
        return True
    if channel == "call" and seen.cn and pair.called_recently:
        return True
    return bool(seen.ma and ((channel in TELEPHONE and pair.telephoned)
                             or (channel == "visit" and pair.visited)))


def only_talk_counts(seen: Readers, pair: Pair, channel: str) -> bool:
    """US rules only, fewer than seven calls: of the attempts only the last conversation
    matters (its day starts seven days without calls), and PAIRS_SQL has it."""
    return (channel == "call" and seen.us and not (seen.cn or seen.ma or seen.unknown)
            and not pair.called_often)


def first_look(memo: Memo, ask: Ask, pair: Pair) -> rules.Decision | None:
    """The decision for an ask about a pair with nothing of its own that the first look cannot
    read (its row: the shape, what it has of its own and what that points to); None: read it
    in full."""
    text, preferences = pair.shape, pair.preferences
    found = memo.shapes.get(text) or shape(memo, text)
    channel, at = ask.channel, ask.at
    attempts, in_force, wanted = (), None, DEFAULT_PREFERENCES
    off = NO_POLICY if pair.policy is None else _policy(memo, pair.policy)
    if pair.own:
        seen = memo.readers.get((found.jurisdiction, found.region)) \
            or readers(memo, found.jurisdiction, found.region)
        if seen.unknown or pair.opted_out or (pair.employer_email and channel == "email"):
            return None
        if pair.has_preferences:
            wanted = _preferences_of(memo, preferences)
            if wanted is None:
                return None
        if pair.attempted and attempts_may_count(seen, pair, channel):
            if not only_talk_counts(seen, pair, channel):
                return None
            attempts = (Attempt("call", ELSEWHERE,
                                canonical_time(pair.last_talk, at, found.home), "conversation"),)
        if pair.held:
            in_force, carry = holds_apart(memo, ask, _holds(memo, pair.holds), off)
            if carry:
                return None
    elif found.unknown:
        return None
    validating = False
    sent_on = pair.sent_on
    if sent_on is not None and found.jurisdiction == "US":
        vkey = (sent_on, at, found.zones)
        validating = memo.validation.get(vkey)
        if validating is None:
            validating = memo.validation[vkey] = in_validation(memo, "US", sent_on, at,
                                                               found.zones)
    destination = ask.destination
    key = (channel, destination is None, destination == "", at, at.utcoffset(), text,
           attempts, wanted is DEFAULT_PREFERENCES or preferences, validating, off)
    base = memo.decisions.get(key)
    if base is None:
        base = memo.decisions[key] = canonical.decide(
            memo, ask, found.jurisdiction, found.region,
            (ContactPointInfo("address", "", "home", found.zones),),
            preferences=wanted, attempts=attempts, validating=validating, policy=off)
    return with_holds(memo, in_force, base) if in_force else base


def second_look(memo: Memo, ask: Ask, read: Detail) -> rules.Decision | None:
    """The decision for an account read in full (preferences, opt-outs, attempts that count,
    holds that end, unusual addresses), on its canonical snapshot. None: ask the service."""
    if ask.purpose is not None:
        return None
    destination, asked = ask.destination, token(ask.destination)
    # service.jurisdiction_of: the first mailing address decides; none means US.
    address = next((p for p in read.points if p[1] == "address"), None)
    jurisdiction = address[6] if address else "US"
    region = address[7] if address and jurisdiction == "US" else None
    seen = readers(memo, jurisdiction, region)
    if seen.unknown:
        return None

    data = read.preferences
    # Which point the destination asked about is matters only to these rules: a workplace, an
    # opt-out, Massachusetts' count per kind of number. Otherwise no digest is worked out.
    identity = bool(destination) and bool(
        seen.ma or any(p[5] or (p[8] and not p[9]) for p in read.points)
        or not isinstance(data, dict)
        or data.get("workplace_prohibited") or data.get("opted_out_points"))

    def same(value_digest: bytes, kind: str) -> bool:
        return identity and memo.digest(destination, f"contact_point.{kind}") == value_digest

    points, by_id, tokens = [], {}, []
    for index, (point_id, kind, label, value_digest, point_zones, opted_out, _, _, employer,
                consented) in enumerate(read.points):
        value_digest = _bytes(value_digest)
        point_token = asked if same(value_digest, kind) else f"v{index}"
        by_id[point_id] = point_token  # stored_preferences maps opted-out ids to values, any kind
        value = "" if kind == "address" else point_token
        tokens.append((kind, value_digest, value))
        points.append(ContactPointInfo(kind, value, label, tuple(point_zones), opted_out,
                                       employer, consented))
    real = Snapshot(jurisdiction, region, tuple(points))
    home = rules._home_zone(real)  # where days and the validation period are counted

    attempts = ()
    if read.attempts and attempts_may_count(seen, read.pair, ask.channel):
        attempts = _attempts(ask, read.attempts, seen, tokens, home, memo)
    preferences = stored_preferences(data, by_id)
    # Only the destination asked about is ever looked up in the opted-out destinations.
    preferences = replace(preferences, opted_out_destinations=frozenset(
        {asked} & preferences.opted_out_destinations))
    if seen.ma and any(a.channel in TELEPHONE for a in attempts):
        points_kept = real.contact_points  # attempts are matched with the points' labels
    else:
        # Only the point asked about is ever looked up (for its label and opt-out); the zones
        # count all together, the home zone first.
        # No zone known: none kept, so the rules fall back to every zone of the country, as
        # they do for the account itself.
        matched = real.point(asked)
        every = zones(home, real.zones()) if real.zones() else ()
        points_kept = (ContactPointInfo("address", "", "home", every),) + (
            (ContactPointInfo("phone", asked, matched.label, (), matched.opted_out,
                              matched.employer_provided, matched.employer_consented),)
            if matched else ())
    in_force, carry = holds_apart(memo, ask, read.holds, read.policy)
    validating = in_validation(memo, jurisdiction, read.pair.sent_on, ask.at,
                               rules._zones(real))
    base = canonical.decide(memo, ask, jurisdiction, region, points_kept,
                            read.holds if carry else (), preferences, attempts, validating,
                            read.policy)
    return with_holds(memo, in_force, base) if in_force else base


def _attempts(ask: Ask, rows: list, seen: Readers, tokens: list, zone: str,
              memo: Memo) -> tuple[Attempt, ...]:
    """The attempts the rules may count, with canonical destinations and times, in order.

    Massachusetts counts telephone attempts of the whole lookback (for a call or a text); the US
    rules count call attempts of the last seven local days, the CN rules those of the local day
    (for a call). An attempt none of them can count, at `at` or later, is left out."""
    at, destination, asked = ask.at, ask.destination, token(ask.destination)
    today = lt.local(at, zone).date()
    telephone = seen.ma and ask.channel in TELEPHONE
    visits = seen.ma and ask.channel == "visit"
    kept = []
    for channel, outcome, when, digest, sealed, direction, with_consent in rows:
        if not (telephone and channel in TELEPHONE) and not (visits and channel == "visit") \
                and not (
                ask.channel == "call" and channel == "call" and when > at - RECENT
                and (seen.us or (seen.cn and lt.local(when, zone).date() == today))):
            continue
        if sealed is None:
            target = None
        elif seen.ma or digest is None or not destination:
            # Compared with contact points too (Massachusetts), or no digest to go by: read it.
            # Sealed to its row: the query reads the row's id before it (crypto.opened).
            plain = opened(_bytes(sealed), "contact_attempt.destination")
            if destination is not None and plain == destination:
                target = asked
            else:
                target = next((value for kind, point_digest, value in tokens
                               if kind != "address" and plain
                               and memo.digest(plain, f"contact_point.{kind}") == point_digest),
                              ELSEWHERE)
        elif memo.digest(destination, "contact_attempt.destination") == _bytes(digest):
            target = asked
        else:
            target = ELSEWHERE
        kept.append(Attempt(channel, target, canonical_time(when, at, zone), outcome, direction,
                            bool(with_consent)))
    if seen.us and not (seen.cn or seen.ma):
        calls = [a for a in kept if a.channel == "call"]
        if len(calls) < rules.US_CALLS_PER_WEEK:
            # Fewer than seven calls never reach the weekly limit: only the last conversation
            # still matters, and not where it was held (no US rule asks).
            talks = [a for a in calls if a.outcome == "conversation"]
            # Whoever called: a conversation either way starts the seven days.
            kept = [replace(max(talks, key=lambda a: a.at), destination=ELSEWHERE,
                            direction="outbound", with_consent=False)] if talks else []
    return tuple(sorted(kept, key=lambda a: (a.channel, a.outcome, a.at, a.destination or "",
                                             a.destination is None, a.direction,
                                             a.with_consent)))


def _bytes(value) -> bytes:
    """Bytes read as bytea, or as hex in JSON."""
    return bytes.fromhex(value) if isinstance(value, str) else bytes(value)


def service_decide(ask: Ask) -> rules.Decision:
    """A pack with a check this module does not know: decide the slow, sure way."""
    return service.decide(db.session.get(Account, ask.account_id), ask.channel,
                          ask.destination, ask.at, ask.purpose)

