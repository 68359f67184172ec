"""The additions of the compliance review (issue 12, COMPLIANCE.md "Additions after the compliance
review (2026-12)"), rule by rule, as tables of cases for the pure engine."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from portal.accounts.zones import US_EVERYWHERE, everywhere
from portal.contact.derive import Fact, derive
from portal.contact.localtime import local_today
from portal.contact.rulebook import POLICY_RULES, RULES, law_in_policy
from portal.contact.rules import NoRulePack, borrower_date, decide, packs_for
from portal.contact.snapshot import Attempt, ContactPointInfo, Hold, Preferences, Snapshot

NY = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
BEIJING = ZoneInfo("Asia/Shanghai")
MOBILE = "+12125550100"
WORK_EMAIL = "pat@employer.example"
HOME_EMAIL = "pat@example.com"


def blocked(decision) -> list[str]:
    return [r.rule for r in decision.reasons if r.effect == "block"]


def limited(decision) -> list[str]:
    return [r.rule for r in decision.reasons if r.effect == "limit"]


def us(region="NY", zone="America/New_York", **changes) -> Snapshot:
    base = dict(jurisdiction="US", region=region, contact_points=(
        ContactPointInfo("address", "", "home", (zone,)),
        ContactPointInfo("phone", MOBILE, "mobile", (zone,)),
        ContactPointInfo("email", HOME_EMAIL, "personal", ()),
    ))
    return Snapshot(**(base | changes))


def gb(**changes) -> Snapshot:
    base = dict(jurisdiction="GB", region=None, contact_points=(
        ContactPointInfo("address", "", "home", ("Europe/London",)),
        ContactPointInfo("phone", "+447911123456", "mobile", ("Europe/London",)),
    ))
    return Snapshot(**(base | changes))


def cn(**changes) -> Snapshot:
    base = dict(jurisdiction="CN", region=None, contact_points=(
        ContactPointInfo("address", "", "home", ("Asia/Shanghai",)),
        ContactPointInfo("phone", "+8613800138000", "mobile", ("Asia/Shanghai",)),
    ))
    return Snapshot(**(base | changes))


TUESDAY_NOON_NY = datetime(2026, 3, 10, 12, tzinfo=NY)
EVERY_SWITCH_OFF = {rule: False for rule in RULES}


# --- 1. a borrower's requests are law in the UK and China ---------------------------------------


@pytest.mark.parametrize(("make", "destination", "at", "rule"), [
    (gb, "+447911123456", datetime(2026, 3, 10, 12, tzinfo=LONDON), "uk.contact-request"),
    (cn, "+8613800138000", datetime(2026, 3, 10, 12, tzinfo=BEIJING), "cn.contact-request"),
])
def test_an_opt_out_in_the_uk_and_china_is_law_that_no_policy_switch_lifts(make, destination,
                                                                           at, rule):
    opted = Preferences(opted_out_channels=frozenset({"sms"}))
    for policy in ({}, {"policy.channel-opt-out": False}, EVERY_SWITCH_OFF):
        decision = decide(make(preferences=opted, policy=policy), "sms", destination, at)
        assert blocked(decision) == [rule], policy
    assert not RULES[rule].policy
    assert "7.9.4R" in RULES["uk.contact-request"].citation
    assert "7.9.4R" in RULES["uk.contact-reasonable"].citation
    assert RULES["cn.contact-request"].citation.startswith("GB/T 45251-2025")


@pytest.mark.parametrize(("kind", "jurisdiction", "rule"), [
    ("contact.cease_requested", "CN", "cn.contact-request"),
    ("contact.attorney_reported", "CN", "cn.attorney-represented"),
    ("contact.cease_requested", "GB", "uk.contact-reasonable"),
    ("contact.attorney_reported", "GB", "uk.contact-reasonable"),
    ("contact.cease_requested", "US", "us.cease-communication"),
])
def test_stop_and_attorney_holds_carry_a_law_rule_everywhere(kind, jurisdiction, rule):
    at = datetime(2026, 3, 1, tzinfo=UTC)
    derived = derive([Fact(1, kind, at, None, {})], jurisdiction)
    assert [h.rule for h in derived.holds] == [rule]
    assert rule not in POLICY_RULES
    # And the hold blocks with every policy switched off.
    held = cn if jurisdiction == "CN" else gb if jurisdiction == "GB" else us
    snapshot = held(holds=(Hold(rule, at),), policy=EVERY_SWITCH_OFF)
    assert rule in blocked(decide(snapshot, "letter", None, at + timedelta(days=2)))


# --- 2. law cannot be switched off by any stored policy -----------------------------------------


def test_a_stored_map_naming_the_law_is_ignored():
    at = datetime(2026, 3, 10, 6, tzinfo=NY)  # 06:00 in New York
    stored = {"us.inconvenient-hours": False, "policy.hardship-review": False}
    decision = decide(us(policy=stored), "call", MOBILE, at)
    assert blocked(decision) == ["us.inconvenient-hours"]
    assert decision.next_allowed_at == datetime(2026, 3, 10, 8, tzinfo=NY)
    # A policy rule it names is still switched off.
    hardship = us(policy=stored, holds=(Hold("policy.hardship-review", at),))
    assert decide(hardship, "call", MOBILE, TUESDAY_NOON_NY).allowed


@pytest.mark.parametrize(("stored", "reported"), [
    ({}, []),
    ({"policy.hardship-review": False}, []),
    ({"us.inconvenient-hours": False}, ["us.inconvenient-hours"]),
    ({"us.inconvenient-hours": True, "cn.contact-request": False, "no.such-rule": False},
     ["cn.contact-request", "no.such-rule", "us.inconvenient-hours"]),
])
def test_what_a_stored_map_names_that_is_not_policy_is_reported(stored, reported):
    assert law_in_policy(stored) == reported


# --- 3. US 1006.22(f)(3): an employer's email address ---------------------------------------------


@pytest.mark.parametrize(("employer", "consented", "channel", "allowed"), [
    (True, False, "email", False),
    (True, True, "email", True),  # the borrower used it with us, or consented
    (False, False, "email", True),
    (True, False, "letter", True),
])
def test_no_email_to_an_employer_address_unless_the_borrower_used_it(employer, consented,
                                                                     channel, allowed):
    points = us().contact_points + (
        ContactPointInfo("email", WORK_EMAIL, "work", (), employer_provided=employer,
                         employer_consented=consented),)
    decision = decide(us(contact_points=points), channel, WORK_EMAIL, TUESDAY_NOON_NY)
    assert decision.allowed is allowed
    if not allowed:
        assert blocked(decision) == ["us.workplace-email"]
        assert decision.next_allowed_at is None
    # The borrower's own address is never caught.
    assert decide(us(contact_points=points), "email", HOME_EMAIL, TUESDAY_NOON_NY).allowed


# --- 4. US 1006.6(b)(1): no known location: every US zone, never UTC ----------------------------


def email_only(**changes) -> Snapshot:
    base = dict(jurisdiction="US", region=None,
                contact_points=(ContactPointInfo("email", HOME_EMAIL, "personal", ()),))
    return Snapshot(**(base | changes))


def test_every_us_zone_includes_hawaii_alaska_and_the_territories():
    assert {"Pacific/Honolulu", "America/Anchorage", "America/Adak", "America/Puerto_Rico",
            "Pacific/Guam", "America/St_Thomas", "America/New_York"} <= set(US_EVERYWHERE)
    assert everywhere("US") == US_EVERYWHERE
    assert everywhere("GB") == ("Europe/London",)


@pytest.mark.parametrize(("at", "allowed", "next_allowed"), [
    # 10:00 in New York but 04:00 in Honolulu: blocked until 08:00 in Guam (22:00 UTC), the first
    # instant convenient everywhere.
    (datetime(2026, 3, 10, 14, tzinfo=UTC), False, datetime(2026, 3, 10, 22, tzinfo=UTC)),
    # 18:30 in New York, 13:30 in Hawaii, 08:30 tomorrow in Guam: convenient everywhere.
    (datetime(2026, 3, 10, 22, 30, tzinfo=UTC), True, None),
    # 21:00 in New York and Puerto Rico's 21:00 too: blocked.
    (datetime(2026, 3, 11, 1, tzinfo=UTC), False, datetime(2026, 3, 11, 22, tzinfo=UTC)),
])
def test_a_borrower_with_no_known_location_is_judged_in_every_us_zone(at, allowed,
                                                                     next_allowed):
    decision = decide(email_only(), "email", HOME_EMAIL, at)
    assert decision.allowed is allowed
    assert decision.next_allowed_at == next_allowed
    if not allowed:
        assert blocked(decision) == ["us.inconvenient-hours"]


@pytest.mark.parametrize(("snapshot", "at", "limited_then"), [
    # Period ends 9 March. At 05:00 UTC on the 10th it is still the 9th in Hawaii and Alaska.
    (email_only(validation_ends=date(2026, 3, 9)), datetime(2026, 3, 10, 5, tzinfo=UTC), True),
    (email_only(validation_ends=date(2026, 3, 9)), datetime(2026, 3, 10, 11, tzinfo=UTC), False),
    # A New York address and a Honolulu mobile: the earliest date (Honolulu's) counts.
    (us(validation_ends=date(2026, 3, 9), contact_points=(
        ContactPointInfo("address", "", "home", ("America/New_York",)),
        ContactPointInfo("phone", "+18085550100", "mobile", ("Pacific/Honolulu",)))),
     datetime(2026, 3, 10, 5, tzinfo=UTC), True),
])
def test_the_validation_period_is_judged_on_the_borrowers_earliest_date(snapshot, at,
                                                                       limited_then):
    decision = decide(snapshot, "letter", None, at)
    assert ("us.validation-period" in limited(decision)) is limited_then


def test_dispute_intake_judges_the_same_instant_the_same_way():
    at = datetime(2026, 3, 10, 5, tzinfo=UTC)
    nowhere = SimpleNamespace(mailing_address=None, contact_points=[
        SimpleNamespace(time_zones=[])])
    assert local_today(nowhere, at) == date(2026, 3, 9)  # Hawaii's date, not UTC's
    honolulu = SimpleNamespace(mailing_address=None, contact_points=[
        SimpleNamespace(time_zones=["America/New_York"]),
        SimpleNamespace(time_zones=["Pacific/Honolulu"])])
    assert local_today(honolulu, at) == date(2026, 3, 9)


# --- 5. Massachusetts: visits -------------------------------------------------------------------


def maria(**changes) -> Snapshot:
    base = dict(jurisdiction="US", region="MA", contact_points=(
        ContactPointInfo("address", "", "home", ("America/New_York",)),
        ContactPointInfo("address", "1 Office Park", "work", ("America/New_York",)),
    ))
    return Snapshot(**(base | changes))


def visit(days_ago: int, outcome="conversation", direction="outbound") -> Attempt:
    return Attempt("visit", None, TUESDAY_NOON_NY - timedelta(days=days_ago), outcome, direction)


@pytest.mark.parametrize(("make", "attempts", "allowed", "next_allowed"), [
    (maria, (), True, None),
    # One household visit 10 days ago: the next one waits until day 31 after it.
    (maria, (visit(10),), False, datetime(2026, 3, 30, 8, tzinfo=NY)),
    (maria, (visit(29),), False, datetime(2026, 3, 11, 8, tzinfo=NY)),
    (maria, (visit(30),), True, None),
    # A visit where no one was contacted does not count; the borrower coming in neither.
    (maria, (visit(3, "no_answer"),), True, None),
    (maria, (visit(3, direction="inbound"),), True, None),
    # Outside Massachusetts the overlay does not apply.
    (us, (visit(10),), True, None),
])
def test_massachusetts_allows_one_household_visit_in_30_days(make, attempts, allowed,
                                                            next_allowed):
    decision = decide(make(attempts=attempts), "visit", None, TUESDAY_NOON_NY)
    assert decision.allowed is allowed
    assert decision.next_allowed_at == next_allowed
    if not allowed:
        assert blocked(decision) == ["us-ma.visit-frequency"]


def test_massachusetts_workplace_visits_are_barred_and_both_codes_are_cited():
    decision = decide(maria(), "visit", "1 Office Park", TUESDAY_NOON_NY)
    assert blocked(decision) == ["us-ma.visit-frequency"] and decision.next_allowed_at is None
    assert RULES["us-ma.visit-frequency"].citation.startswith("209 CMR 18.17(6)-(7)")
    assert "940 CMR 7.04" in RULES["us-ma.visit-frequency"].citation
    calls = RULES["us-ma.call-frequency"].citation
    assert "209 CMR 18.16(1)(d)" in calls and "940 CMR 7.04(1)(f)" in calls


# --- 6. US 1006.14(b)(3): what counts toward 7 in 7; inbound conversations ---------------------


def calls(n: int, outcome="no_answer", direction="outbound", consent=False) -> tuple:
    """n calls, one a day from Tuesday 11:00 back (all within the seven days, for n <= 7)."""
    return tuple(Attempt("call", MOBILE, TUESDAY_NOON_NY - timedelta(days=d, hours=1), outcome,
                         direction, consent) for d in range(n))


@pytest.mark.parametrize(("attempts", "rules"), [
    (calls(7), ["us.call-frequency"]),
    (calls(6), []),
    (calls(6) + calls(1, "busy"), []),  # not connected to the dialed number
    (calls(6) + calls(1, "not_in_service"), []),
    (calls(6) + calls(1, consent=True), []),  # with the borrower's prior consent
    (calls(6) + calls(1, direction="inbound"), []),  # the borrower called us
    (calls(7, "busy"), []),
    # A conversation, whoever called, starts the seven days.
    (calls(1, "conversation", direction="inbound"), ["us.call-after-conversation"]),
    (calls(1, "conversation"), ["us.call-after-conversation"]),
])
def test_which_calls_count_and_which_conversations_pause(attempts, rules):
    assert blocked(decide(us(attempts=attempts), "call", MOBILE, TUESDAY_NOON_NY)) == rules


def test_inbound_calls_do_not_count_toward_massachusetts_limits_either():
    inbound = tuple(Attempt("call", MOBILE, TUESDAY_NOON_NY - timedelta(days=d), "no_answer",
                            "inbound") for d in (1, 2))
    assert decide(us(region="MA", attempts=inbound), "call", MOBILE, TUESDAY_NOON_NY).allowed
    outbound = tuple(Attempt("call", MOBILE, a.at, "no_answer") for a in inbound)
    assert blocked(decide(us(region="MA", attempts=outbound), "call", MOBILE,
                          TUESDAY_NOON_NY)) == ["us-ma.call-frequency"]


# --- 7. effective dates -------------------------------------------------------------------------


@pytest.mark.parametrize(("make", "before", "from_"), [
    (us, datetime(2021, 11, 29, 23, 59, tzinfo=NY), datetime(2021, 11, 30, tzinfo=NY)),
    (gb, datetime(2023, 12, 31, 23, 59, tzinfo=LONDON), datetime(2024, 1, 1, tzinfo=LONDON)),
    # GB/T 45251-2025: in force from 28 February 2025, Beijing time (16:00 UTC the day before).
    (cn, datetime(2025, 2, 27, 15, 59, tzinfo=UTC), datetime(2025, 2, 27, 16, tzinfo=UTC)),
])
def test_before_any_pack_a_decision_is_a_precise_refusal(make, before, from_):
    with pytest.raises(NoRulePack) as refused:
        decide(make(), "letter", None, before)
    assert refused.value.code == "no_rule_pack"
    assert refused.value.earliest == from_
    assert str(refused.value).startswith(f"no rule pack for {make().jurisdiction} in force at")
    assert decide(make(), "letter", None, from_).allowed


def test_the_china_packs_follow_their_sources_dates():
    assert [(p.version, p.effective_from) for p in packs_for("CN", None, date(2026, 6, 1))] == [
        ("cba-2026", date(2026, 1, 1))]
    assert [p.version for p in packs_for("CN", None, date(2025, 6, 1))] == ["gbt-45251-2025"]
    # Six unanswered dials to one number: the CBA guideline's limit, not GB/T 45251-2025's.
    phone = "+8613800138000"

    def six_dials(at):
        return cn(attempts=tuple(Attempt("call", phone, at - timedelta(minutes=m), "no_answer")
                                 for m in range(1, 7)))

    in_2025 = datetime(2025, 6, 3, 15, tzinfo=BEIJING)
    in_2026 = datetime(2026, 6, 3, 15, tzinfo=BEIJING)
    assert decide(six_dials(in_2025), "call", phone, in_2025).allowed
    assert blocked(decide(six_dials(in_2026), "call", phone, in_2026)) == [
        "cn.unanswered-attempts-per-day"]


def test_an_overlay_never_stands_without_its_country_pack():
    with pytest.raises(NoRulePack):
        packs_for("US", "MA", datetime(2021, 1, 1, tzinfo=UTC))
    assert [p.id for p in packs_for("US", "MA", datetime(2026, 1, 1, tzinfo=UTC))] == [
        "US", "US-MA"]


@pytest.mark.parametrize("zones", [[], ["America/New_York"], ["America/New_York",
                                                               "Pacific/Honolulu"],
                                   ["Pacific/Guam", "America/Adak"]])
@pytest.mark.parametrize("hour", [0, 5, 9, 10, 14, 23])
def test_dispute_intake_and_the_rules_take_the_same_date(zones, hour):
    """localtime.local_today (dispute intake) and rules.borrower_date (the validation period's
    limit) judge one instant alike, whatever zones the borrower's points carry."""
    at = datetime(2026, 3, 10, hour, tzinfo=UTC)
    borrower = SimpleNamespace(mailing_address=None, contact_points=[
        SimpleNamespace(time_zones=[zone]) for zone in zones])
    snapshot = email_only(contact_points=tuple(
        ContactPointInfo("phone", f"+1{i}", "mobile", (zone,)) for i, zone in enumerate(zones)))
    assert local_today(borrower, at) == borrower_date(snapshot, at)
