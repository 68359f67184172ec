"""Issue 12's holds and exceptions as pure tables: consent windows per channel, a cease's three
notices, and the holds staff record (death, capacity, insolvency, the end of a crisis space)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from portal.contact import consent
from portal.contact.derive import Fact, crisis_space_end, derive
from portal.contact.rulebook import RULES, Purpose
from portal.contact.rules import decide, stopping
from portal.contact.snapshot import (
    ContactPointInfo,
    Hold,
    Preferences,
    Snapshot,
    TimeWindow,
    stored_preferences,
)

NY = ZoneInfo("America/New_York")
BEIJING = ZoneInfo("Asia/Shanghai")
LONDON = ZoneInfo("Europe/London")
MOBILE, EMAIL = "+12125550147", "alex@example.com"
TUESDAY = date(2026, 3, 10)
SATURDAY = date(2026, 3, 14)


def borrower(jurisdiction="US", zone="America/New_York", **changes) -> Snapshot:
    base = dict(
        jurisdiction=jurisdiction, region="NY" if jurisdiction == "US" else None,
        contact_points=(
            ContactPointInfo("address", "", "home", (zone,)),
            ContactPointInfo("phone", MOBILE, "mobile", (zone,)),
            ContactPointInfo("email", EMAIL, "personal", (zone,)),
        ),
    )
    return Snapshot(**(base | changes))


def agreed(*windows: dict) -> Preferences:
    """Consents as the record stores them (derive -> contact_preferences -> the rules)."""
    return stored_preferences({"consented": list(windows)}, {})


CALLS_7_TO_8_WEEKDAYS = {"id": 1, "channels": ["call"], "start": "07:00", "end": "08:00",
                         "days": [0, 1, 2, 3, 4]}
TEXTS_UNTIL_22 = {"id": 2, "channels": ["sms"], "start": "21:00", "end": "22:00", "days": None}
LATE_CALLS_WEEKDAYS = {"id": 3, "channels": ["call"], "start": "21:00", "end": "01:00",
                       "days": [0, 1, 2, 3, 4]}


def at(day: date, hour: int, minute: int = 0, zone=NY) -> datetime:
    return datetime.combine(day, time(hour, minute), zone)


# --- consent: 1006.6(b)(1) "without the prior consent of the consumer"; cn.quiet-hours ----------

@pytest.mark.parametrize(("case", "consents", "channel", "when", "allowed"), [
    ("no consent: a 07:30 call is too early", (), "call", at(TUESDAY, 7, 30), False),
    ("calls 07:00-08:00 on weekdays: a Tuesday 07:30 call", (CALLS_7_TO_8_WEEKDAYS,), "call",
     at(TUESDAY, 7, 30), True),
    ("... not on a Saturday", (CALLS_7_TO_8_WEEKDAYS,), "call", at(SATURDAY, 7, 30), False),
    ("... not a text: consent is per channel", (CALLS_7_TO_8_WEEKDAYS,), "sms",
     at(TUESDAY, 7, 30), False),
    ("... not before the window", (CALLS_7_TO_8_WEEKDAYS,), "call", at(TUESDAY, 6, 59), False),
    ("texts until 22:00: a 21:30 text", (TEXTS_UNTIL_22,), "sms", at(TUESDAY, 21, 30), True),
    ("... a 21:30 call is still too late", (TEXTS_UNTIL_22,), "call", at(TUESDAY, 21, 30), False),
    ("... a 22:00 text is too late again", (TEXTS_UNTIL_22,), "sms", at(TUESDAY, 22), False),
    ("past midnight: Friday's window covers Saturday 00:30", (LATE_CALLS_WEEKDAYS,), "call",
     at(SATURDAY, 0, 30), True),
    ("... Sunday's would not cover Monday 00:30", (LATE_CALLS_WEEKDAYS,), "call",
     at(date(2026, 3, 16), 0, 30), False),
])
def test_a_consent_lifts_the_usual_hours_for_its_channel_days_and_window(
        case, consents, channel, when, allowed):
    s = borrower(preferences=agreed(*consents))
    destination = EMAIL if channel == "email" else MOBILE
    decision = decide(s, channel, destination, when)
    assert decision.allowed is allowed, case
    if not allowed:
        assert "us.inconvenient-hours" in {r.rule for r in decision.reasons}, case


def test_a_consent_lifts_chinas_quiet_hours_too():
    s = borrower("CN", "Asia/Shanghai", preferences=agreed(
        {"id": 4, "channels": ["sms"], "start": "22:00", "end": "23:00"}))
    late = datetime(2026, 3, 10, 22, 30, tzinfo=BEIJING)
    assert decide(s, "sms", MOBILE, late).allowed
    assert not decide(s, "call", MOBILE, late).allowed
    assert not decide(borrower("CN", "Asia/Shanghai"), "sms", MOBILE, late).allowed


def test_a_consent_lifts_nothing_but_the_hours():
    s = borrower(preferences=agreed(CALLS_7_TO_8_WEEKDAYS),
                 holds=(Hold("us.cease-communication", at(TUESDAY, 0)),))
    decision = decide(s, "call", MOBILE, at(TUESDAY, 7, 30))
    assert not decision.allowed
    assert [r.rule for r in decision.reasons] == ["us.cease-communication"]


@pytest.mark.parametrize(("channel", "start", "end", "days", "problem"), [
    ("call", time(7), time(8), "weekdays", None),
    ("sms", time(21), time(22), "every_day", None),
    ("email", time(21), time(1), "weekends", None),
    ("letter", time(7), time(8), "every_day", "channel"),
    ("visit", time(7), time(8), "every_day", "channel"),
    ("call", None, time(8), "every_day", "times"),
    ("call", time(8), time(8), "every_day", "empty"),
    ("call", time(7), time(8), "holidays", "days"),
])
def test_which_windows_may_be_consented_to(channel, start, end, days, problem):
    assert consent.window_problem(channel, start, end, days) == problem


def test_a_consent_is_stored_as_the_rules_read_it():
    stored = consent.stored("call", time(7), time(8), "weekdays")
    assert stored == {"channel": "call", "start": "07:00", "end": "08:00",
                      "days": [0, 1, 2, 3, 4]}
    window = stored_preferences({"consented": [dict(stored, channels=["call"])]}, {})
    assert window.consented_hours == (
        TimeWindow(time(7), time(8), frozenset({"call"}), frozenset({0, 1, 2, 3, 4})),)


# --- cease exceptions, 1006.6(c)(2) ---------------------------------------------------------------

CEASED = borrower(holds=(Hold("us.cease-communication", at(TUESDAY, 0)),))
NOON = at(TUESDAY, 12)
E, R, N = Purpose.EFFORTS_ENDING, Purpose.REMEDY, Purpose.REQUIRED_NOTICE


@pytest.mark.parametrize(("purpose", "channel", "allowed"), [
    (E, "letter", True), (E, "email", True), (E, "call", False), (E, "sms", False),
    (E, "visit", False),
    (R, "letter", True), (R, "email", True), (R, "call", False), (R, "sms", False),
    (N, "letter", True), (N, "email", True), (N, "call", False),
    (Purpose.COLLECTION, "letter", False), (Purpose.COLLECTION, "email", False),
    (None, "letter", False), (None, "email", False),
])
def test_a_cease_lets_its_three_notices_through_by_letter_or_email(purpose, channel, allowed):
    destination = {"email": EMAIL, "call": MOBILE, "sms": MOBILE}.get(channel)
    decision = decide(CEASED, channel, destination, NOON, purpose)
    assert decision.allowed is allowed
    cease = next(r for r in decision.reasons if r.rule == "us.cease-communication")
    assert cease.effect == ("limit" if allowed else "block")
    assert decision.next_allowed_at is None


@pytest.mark.parametrize("rule", ["us.bankruptcy-stay", "us.dispute-pending-verification",
                                  "us.attorney-represented", "us.deceased", "uk.insolvency",
                                  "uk.mental-capacity", "policy.paid-in-full"])
def test_every_other_rule_stops_the_cease_notices_as_collection(rule):
    s = borrower(holds=(Hold("us.cease-communication", at(TUESDAY, 0)),
                        Hold(rule, at(TUESDAY, 0))))
    for purpose in (E, R, N):
        decision = decide(s, "letter", None, NOON, purpose)
        assert not decision.allowed
        assert [r.rule for r in decision.reasons if r.effect == "block"] == [rule]
        assert RULES[rule].stops_on(purpose, "letter")


def test_a_cease_notice_still_waits_for_the_usual_hours_and_says_when():
    late = at(TUESDAY, 22)
    decision = decide(CEASED, "email", EMAIL, late, Purpose.REMEDY)
    assert not decision.allowed
    assert [r.rule for r in decision.reasons if r.effect == "block"] == ["us.inconvenient-hours"]
    assert decision.next_allowed_at == at(date(2026, 3, 11), 8)


def test_a_reported_attempt_is_judged_by_its_purpose_and_channel():
    decision = decide(CEASED, "sms", MOBILE, NOON)
    assert [r.rule for r in stopping(decision, Purpose.REMEDY, "sms")] == \
        ["us.cease-communication"]
    decision = decide(CEASED, "letter", None, NOON)
    assert stopping(decision, Purpose.REMEDY, "letter") == ()
    assert stopping(decision, Purpose.COLLECTION, "letter") != ()


# --- holds staff record ---------------------------------------------------------------------------

T0 = datetime(2026, 3, 2, 10, tzinfo=UTC)


def facts(*kinds_and_data) -> list[Fact]:
    return [Fact(i, kind, T0 + timedelta(days=i), None, data)
            for i, (kind, data) in enumerate(kinds_and_data, 1)]


def live(derived, now):
    return {(h.rule, h.until) for h in derived.holds if h.live(now)}


LATER = T0 + timedelta(days=5, hours=1)


@pytest.mark.parametrize(("case", "jurisdiction", "events", "holds"), [
    ("deceased, US", "US", [("contact.deceased_reported", {})], {("us.deceased", None)}),
    ("deceased is a US rule", "GB", [("contact.deceased_reported", {})], set()),
    ("capacity doubted, UK", "GB", [("contact.capacity_doubted", {})],
     {("uk.mental-capacity", None)}),
    ("capacity established", "GB", [("contact.capacity_doubted", {}),
                                    ("contact.capacity_established", {})], set()),
    ("insolvency, UK", "GB", [("contact.insolvency_reported", {"kind": "dro"})],
     {("uk.insolvency", None)}),
    ("insolvency discharged", "GB", [("contact.insolvency_reported", {"kind": "bankruptcy"}),
                                     ("contact.insolvency_ended", {"how": "discharged"})], set()),
    ("insolvency is the UK rule", "US", [("contact.insolvency_reported", {"kind": "iva"})],
     set()),
    ("crisis space: no end", "GB",
     [("contact.breathing_space_reported", {"kind": "mental_health", "start": "2026-03-02"})],
     {("uk.mental-health-crisis", None)}),
    ("crisis space: treatment ended, 30 days on", "GB",
     [("contact.breathing_space_reported", {"kind": "mental_health", "start": "2026-03-02"}),
      ("contact.crisis_treatment_ended", {"ended_on": "2026-03-03"})],
     {("uk.mental-health-crisis", datetime(2026, 4, 3, tzinfo=LONDON))}),
    ("a standard space has its own end", "GB",
     [("contact.breathing_space_reported", {"kind": "standard", "start": "2026-03-02"}),
      ("contact.crisis_treatment_ended", {"ended_on": "2026-03-03"})],
     {("uk.breathing-space", datetime(2026, 5, 2, tzinfo=LONDON))}),
])
def test_holds_staff_record_and_lift(case, jurisdiction, events, holds):
    assert live(derive(facts(*events), jurisdiction), LATER) == holds, case


def test_the_end_of_crisis_treatment_ends_the_open_hold_and_starts_its_last_30_days():
    derived = derive(facts(
        ("contact.breathing_space_reported", {"kind": "mental_health", "start": "2026-03-02"}),
        ("contact.crisis_treatment_ended", {"ended_on": "2026-03-03"})), "GB")
    first, tail = derived.holds
    assert (first.until, first.ended_by) == (None, 2)
    assert (tail.rule, tail.started_by, tail.key) == ("uk.mental-health-crisis", 2, first.key)
    assert tail.until == crisis_space_end(date(2026, 3, 3))
    assert tail.live(datetime(2026, 4, 2, 23, 59, tzinfo=LONDON))
    assert not tail.live(datetime(2026, 4, 3, 0, 0, tzinfo=LONDON))


def test_consents_are_derived_from_their_events_and_survive_a_preferences_change():
    given = {"consent": 7, "channel": "call", "start": "07:00", "end": "08:00", "days": None}
    derived = derive(facts(("contact.consent_given", given),
                           ("preferences.changed", {"preferences": {"language": "en"}})), "US")
    assert derived.preferences == {"language": "en", "consented": [
        {"id": 7, "channels": ["call"], "start": "07:00", "end": "08:00", "days": None}]}
    withdrawn = derive(facts(("contact.consent_given", given),
                             ("contact.consent_withdrawn", {"consent": 7})), "US")
    assert "consented" not in withdrawn.preferences


@pytest.mark.parametrize(("rule", "citation"), [
    ("us.deceased", "12 CFR 1006.6(a)(4)"),
    ("uk.mental-capacity", "FCA CONC 7.10.2R"),
    ("uk.insolvency", "Insolvency Act 1986; FCA CONC 7"),
    ("uk.mental-health-crisis", "Debt Respite Scheme Regulations 2020"),
])
def test_the_recorded_holds_have_rulebook_entries_with_citations(rule, citation):
    assert RULES[rule].citation == citation
    assert Purpose.COLLECTION in RULES[rule].stops
