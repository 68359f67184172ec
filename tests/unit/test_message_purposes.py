"""Which of the portal's own messages each rule stops: a sign-in code (access), an answer to the
borrower's own step (requested: a receipt, a dispute's acknowledgement) or collection."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from portal.contact.rulebook import RULES, Purpose
from portal.contact.rules import decide, stopping
from portal.contact.snapshot import (
    Attempt,
    ContactPointInfo,
    Hold,
    Preferences,
    Snapshot,
    TimeWindow,
)

NY = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
BEIJING = ZoneInfo("Asia/Shanghai")
EMAIL = "alex@example.com"
WORK_EMAIL = "alex@work.example"
A, R, C = Purpose.ACCESS, Purpose.REQUESTED, Purpose.COLLECTION


def snapshot(jurisdiction="US", region="NY", zone="America/New_York", **changes) -> Snapshot:
    base = dict(
        jurisdiction=jurisdiction, region=region,
        contact_points=(
            ContactPointInfo("address", "", "home", (zone,)),
            ContactPointInfo("phone", "+16175550199", "mobile", (zone,)),
            ContactPointInfo("email", EMAIL, "personal", (zone,)),
            ContactPointInfo("email", WORK_EMAIL, "work", (zone,)),
        ),
    )
    return Snapshot(**(base | changes))


def stopped(s: Snapshot, channel: str, destination: str, at: datetime) -> set[Purpose]:
    decision = decide(s, channel, destination, at)
    return {p for p in (A, R, C) if stopping(decision, p)}  # the portal's own messages


NOON = datetime(2026, 3, 10, 12, tzinfo=NY)  # a Tuesday, inside every window

# Every rule a hold can carry (contact/derive.py, disputes, plans), and which purposes it stops.
HOLDS = [
    ("us.cease-communication", {R, C}),
    ("us.attorney-represented", {C}),
    ("us.bankruptcy-stay", {C}),
    ("us.dispute-pending-verification", {C}),
    ("us.identity-theft", {C}),
    ("us.deceased", {A, R, C}),
    ("uk.contact-reasonable", {C}),
    ("uk.dispute", {C}),
    ("uk.breathing-space", {C}),
    ("uk.mental-health-crisis", {C}),
    ("uk.mental-capacity", {C}),
    ("uk.debt-advice-hold", {C}),
    ("policy.channel-opt-out", {R, C}),
    ("policy.plan-in-good-standing", {C}),
    ("policy.hardship-review", {C}),
    ("policy.paid-in-full", {C}),
    ("policy.account-closed", {C}),
    # The recall's notice (efforts end) goes; collection does not.
    ("creditor.recalled", {C}),
    ("policy.dispute-outside-validation", {C}),
    ("policy.supervisor-pause", {C}),
]


@pytest.mark.parametrize(("rule", "stops"), HOLDS, ids=[rule for rule, _ in HOLDS])
def test_a_hold_stops_the_purposes_its_rulebook_entry_names(rule, stops):
    s = snapshot(holds=(Hold(rule, NOON - timedelta(days=1)),))
    assert stopped(s, "email", EMAIL, NOON) == stops
    assert stopped(snapshot(), "email", EMAIL, NOON) == set()  # the same moment, no hold


@pytest.mark.parametrize(("case", "s", "channel", "destination", "at", "stops"), [
    ("email opted out", snapshot(preferences=Preferences(opted_out_channels=frozenset({"email"}))),
     "email", EMAIL, NOON, {R, C}),
    ("address opted out",
     snapshot(preferences=Preferences(opted_out_destinations=frozenset({EMAIL}))),
     "email", EMAIL, NOON, {R, C}),
    ("23:00 in New York", snapshot(), "email", EMAIL, NOON.replace(hour=23), {C}),
    ("a time named inconvenient",
     snapshot(preferences=Preferences(inconvenient=(TimeWindow(time(11), time(13)),))),
     "email", EMAIL, NOON, {C}),
    ("work email, employer forbids", snapshot(preferences=Preferences(workplace_prohibited=True)),
     "email", WORK_EMAIL, NOON, {R, C}),
    ("third text this week in Massachusetts",
     snapshot(region="MA", attempts=tuple(
         Attempt("sms", "+16175550199", NOON - timedelta(days=d), "delivered") for d in (1, 2))),
     "sms", "+16175550199", NOON, {R, C}),
    ("22:30 in Beijing", snapshot("CN", None, "Asia/Shanghai"), "email", EMAIL,
     datetime(2026, 3, 10, 22, 30, tzinfo=BEIJING), {C}),
    ("22:00 in London", snapshot("GB", None, "Europe/London"), "email", EMAIL,
     datetime(2026, 3, 10, 22, tzinfo=LONDON), {C}),
])
def test_a_rule_of_the_pack_stops_the_purposes_its_entry_names(case, s, channel, destination,
                                                               at, stops):
    assert stopped(s, channel, destination, at) == stops, case


def test_every_rule_stops_collection_and_cites_why_it_lets_a_purpose_through():
    for rule in RULES.values():
        assert Purpose.COLLECTION in rule.stops, rule.id
        if rule.stops != frozenset(Purpose):
            assert rule.lets_through, rule.id
