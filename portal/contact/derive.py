"""Holds and preferences derived from case events by one function, so a replay gives the same. Pure.

A statement with a fixed hold (cease, attorney, bankruptcy, paid in full...) is a kind in `_start`
and `END_EVENTS`; an event whose holds depend on the case (a dispute's rules, a plan's) names them
in its data, `hold_starts` and `hold_ends`. Nothing else decides when a hold starts or ends.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta

from portal.contact import localtime as lt

BREATHING_SPACE_DAYS = 60
#: The key of the live consents in the derived preferences (read by snapshot.stored_preferences).
CONSENTED = "consented"


@dataclass(frozen=True)
class Fact:
    """A case event as the derivation sees it."""

    id: int
    kind: str
    at: datetime
    account_id: int | None
    data: dict


@dataclass(frozen=True)
class DerivedHold:
    key: str
    rule: str
    account_id: int | None
    channels: frozenset[str] | None
    started_at: datetime
    until: datetime | None
    started_by: int
    ended_at: datetime | None = None
    ended_by: int | None = None

    def live(self, now: datetime) -> bool:
        return self.ended_at is None and (self.until is None or now < self.until)


@dataclass(frozen=True)
class Derived:
    holds: tuple[DerivedHold, ...]
    preferences: dict = field(default_factory=dict)


#: Which rule a borrower's statement invokes, by jurisdiction (None: the statement has no hold).
#: Law in every jurisdiction: no agency policy switch lifts them (CONC 7.9.4R; GB/T 45251-2025).
CEASE_RULE = {"US": "us.cease-communication", "GB": "uk.contact-reasonable",
              "CN": "cn.contact-request"}
ATTORNEY_RULE = {"US": "us.attorney-represented", "GB": "uk.contact-reasonable",
                 "CN": "cn.attorney-represented"}
BANKRUPTCY_RULE = {"US": "us.bankruptcy-stay"}
#: Holds staff record, by jurisdiction: the rule each fact invokes where it is law.
DECEASED_RULE = {"US": "us.deceased"}
CAPACITY_RULE = {"GB": "uk.mental-capacity"}
INSOLVENCY_RULE = {"GB": "uk.insolvency"}
#: A mental health crisis breathing space lasts for the treatment plus this many days.
CRISIS_TAIL_DAYS = 30


def crisis_space_end(treatment_ended: date) -> datetime:
    """30 days after the day crisis treatment ended: contact may resume the day after, London."""
    return lt.at_local(treatment_ended + timedelta(days=CRISIS_TAIL_DAYS + 1), time(0),
                       "Europe/London")


def _consent(fact: Fact) -> dict:
    """A consent as the rules read it (snapshot.stored_preferences: a window on some channels)."""
    data = fact.data
    return {"id": data["consent"], "channels": [data["channel"]], "start": data["start"],
            "end": data["end"], "days": data.get("days")}


def breathing_space_end(start: date) -> datetime:
    """60 days from the day after registration: contact may resume on day 61, London time."""
    return lt.at_local(start + timedelta(days=BREATHING_SPACE_DAYS + 1), time(0), "Europe/London")


def _named_holds(fact: Fact) -> list[DerivedHold]:
    """Holds an event names itself (disputes, plans): [{"key", "rule", "channels",
    "days" | "until"}]; the event ends others by key in "hold_ends"."""
    scope = fact.data.get("account_id", fact.account_id)

    def until(h):
        if h.get("until"):
            return datetime.fromisoformat(h["until"])
        return fact.at + timedelta(days=h["days"]) if h.get("days") else None

    return [DerivedHold(h["key"], h["rule"], scope,
                        frozenset(h["channels"]) if h.get("channels") else None, fact.at,
                        until(h), fact.id)
            for h in fact.data.get("hold_starts", [])]


def _starts(fact: Fact, jurisdiction: str) -> list[DerivedHold]:
    if fact.data.get("hold_starts"):
        return _named_holds(fact)
    started = _start(fact, jurisdiction)
    return [started] if started is not None else []


def _ends(fact: Fact) -> list[str]:
    """The keys of the holds an event ends."""
    if fact.kind in END_EVENTS:
        return [END_EVENTS[fact.kind]]
    return list(fact.data.get("hold_ends", []))


def _start(fact: Fact, jurisdiction: str) -> DerivedHold | None:
    kind, data = fact.kind, fact.data
    scope = data.get("account_id", fact.account_id)

    def hold(key, rule, until=None, channels=None):
        if rule is None:
            return None
        return DerivedHold(key, rule, scope, channels, fact.at, until, fact.id)

    if kind == "contact.cease_requested":
        return hold("cease", CEASE_RULE.get(jurisdiction))
    if kind == "contact.attorney_reported":
        return hold("attorney", ATTORNEY_RULE.get(jurisdiction))
    if kind == "contact.bankruptcy_reported":
        return hold("bankruptcy", BANKRUPTCY_RULE.get(jurisdiction))
    if kind == "contact.deceased_reported":
        return hold("deceased", DECEASED_RULE.get(jurisdiction))
    if kind == "contact.capacity_doubted":
        return hold("mental-capacity", CAPACITY_RULE.get(jurisdiction))
    if kind == "contact.insolvency_reported":
        return hold("insolvency", INSOLVENCY_RULE.get(jurisdiction))
    if kind == "account.paid_in_full":
        return hold("paid-in-full", "policy.paid-in-full")
    if kind == "account.closed":
        return hold("closed", "policy.account-closed")
    if kind == "account.recalled":
        return hold("recalled", "creditor.recalled")
    if kind == "contact.breathing_space_reported":
        if data.get("kind") == "mental_health":
            return hold("breathing-space", "uk.mental-health-crisis")
        start = date.fromisoformat(data["start"])
        return hold("breathing-space", "uk.breathing-space", until=breathing_space_end(start))
    return None


#: Events that end a hold, by the key of the hold they end.
END_EVENTS = {
    "contact.cease_withdrawn": "cease",
    "contact.attorney_ended": "attorney",
    "contact.bankruptcy_ended": "bankruptcy",
    "contact.breathing_space_ended": "breathing-space",
    "account.reopened": "paid-in-full",
    "contact.capacity_established": "mental-capacity",
    "contact.insolvency_ended": "insolvency",
}


def _treatment_ended(holds: dict, history: list, fact: Fact) -> None:
    """Notice that crisis treatment ended: the open-ended crisis breathing space ends, and the
    30 days after treatment follow as a hold of the same rule with its end (each a case event)."""
    slot = ("breathing-space", fact.data.get("account_id", fact.account_id))
    current = holds.get(slot)
    if current is None or current.rule != "uk.mental-health-crisis" or not current.live(fact.at) \
            or current.until is not None:
        return
    history.append(replace(current, ended_at=fact.at, ended_by=fact.id))
    holds[slot] = DerivedHold(current.key, current.rule, current.account_id, current.channels,
                              fact.at, crisis_space_end(date.fromisoformat(fact.data["ended_on"])),
                              fact.id)


def derive(facts: list[Fact], jurisdiction: str) -> Derived:
    """Replay a borrower's events (all their streams) in order into holds and preferences."""
    holds: dict[tuple[str, int | None], DerivedHold] = {}
    history: list[DerivedHold] = []
    preferences: dict = {}
    consents: dict[int, dict] = {}
    for fact in sorted(facts, key=lambda f: (f.at, f.id)):
        if fact.kind == "preferences.changed":
            preferences = dict(fact.data.get("preferences", {}))
            continue
        if fact.kind == "contact.consent_given":
            consents[fact.data["consent"]] = _consent(fact)
            continue
        if fact.kind == "contact.consent_withdrawn":
            consents.pop(fact.data["consent"], None)
            continue
        if fact.kind == "contact.crisis_treatment_ended":
            _treatment_ended(holds, history, fact)
            continue
        started = _starts(fact, jurisdiction)
        for hold in started:
            slot = (hold.key, hold.account_id)
            if slot not in holds or not holds[slot].live(fact.at):
                if slot in holds:
                    history.append(holds[slot])
                holds[slot] = hold
        scope = fact.data.get("account_id", fact.account_id)
        for ended_key in _ends(fact):
            slot = (ended_key, scope)
            current = holds.get(slot)
            if current is not None and current.live(fact.at):
                holds[slot] = replace(current, ended_at=fact.at, ended_by=fact.id)
    if consents:  # kept apart from the borrower's form, which says nothing of them
        preferences = {k: v for k, v in preferences.items() if k != CONSENTED} | {
            CONSENTED: [consents[k] for k in sorted(consents)]}
    return Derived(tuple(history) + tuple(holds.values()), preferences)
