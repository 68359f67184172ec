"""The contact rulebook, rule by rule, with every example of COMPLIANCE.md."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from portal.contact.rules import decide, packs_for
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
ALEX_MOBILE = "+12135550147"
ALEX_EMAIL = "alex@example.com"


def alex(**changes) -> Snapshot:
    """Alex Rivera: an address in New York, a mobile with a Los Angeles area code."""
    base = dict(
        jurisdiction="US", region="NY",
        contact_points=(
            ContactPointInfo("address", "", "home", ("America/New_York",)),
            ContactPointInfo("phone", ALEX_MOBILE, "mobile", ("America/Los_Angeles",)),
            ContactPointInfo("email", ALEX_EMAIL, "personal", ("America/New_York",)),
        ),
    )
    base.update(changes)
    return Snapshot(**base)


def maria(**changes) -> Snapshot:
    base = dict(
        jurisdiction="US", region="MA",
        contact_points=(
            ContactPointInfo("address", "", "home", ("America/New_York",)),
            ContactPointInfo("phone", "+16175550199", "mobile", ("America/New_York",)),
            ContactPointInfo("phone", "+16175550100", "work", ("America/New_York",)),
        ),
    )
    base.update(changes)
    return Snapshot(**base)


def oliver(**changes) -> Snapshot:
    base = dict(
        jurisdiction="GB", region=None,
        contact_points=(
            ContactPointInfo("address", "", "home", ("Europe/London",)),
            ContactPointInfo("phone", "+447911123456", "mobile",
                             ("Europe/Guernsey", "Europe/Isle_of_Man", "Europe/Jersey",
                              "Europe/London")),
        ),
    )
    base.update(changes)
    return Snapshot(**base)


def wang(**changes) -> Snapshot:
    base = dict(
        jurisdiction="CN", region=None,
        contact_points=(
            ContactPointInfo("address", "", "home", ("Asia/Shanghai",)),
            ContactPointInfo("phone", "+8613800138000", "mobile", ("Asia/Shanghai",)),
        ),
    )
    base.update(changes)
    return Snapshot(**base)


def ny(y, m, d, hh, mm=0, ss=0):
    return datetime(y, m, d, hh, mm, ss, tzinfo=NY)


def rules_of(decision):
    return [r.rule for r in decision.reasons if r.effect == "block"]


# --- COMPLIANCE.md examples --------------------------------------------------------------------


def test_new_york_address_los_angeles_mobile():
    early = decide(alex(), "call", ALEX_MOBILE, ny(2026, 11, 30, 8, 30))
    assert not early.allowed and rules_of(early) == ["us.inconvenient-hours"]
    # It is 05:30 in Los Angeles: calls open at 08:00 there, 11:00 in New York.
    assert early.next_allowed_at == ny(2026, 11, 30, 11, 0)
    assert decide(alex(), "call", ALEX_MOBILE, ny(2026, 11, 30, 11, 5)).allowed


def test_seven_calls_in_seven_days_then_the_eighth():
    day1 = ny(2026, 11, 2, 12)  # Monday
    attempts = tuple(
        Attempt("call", ALEX_MOBILE, day1 + timedelta(days=d, hours=h), "no_answer")
        for d, h in [(0, 0), (0, 1), (1, 0), (2, 0), (3, 0), (4, 0), (4, 1)]  # days 1-5
    )
    s = alex(attempts=attempts)
    eighth = decide(s, "call", ALEX_MOBILE, day1 + timedelta(days=5))  # day 6
    assert not eighth.allowed and rules_of(eighth) == ["us.call-frequency"]
    # Day 8: the two day-1 attempts have left the window (5 remain).
    assert eighth.next_allowed_at == ny(2026, 11, 9, 11, 0)  # 08:00 in Los Angeles
    assert decide(s, "call", ALEX_MOBILE, ny(2026, 11, 9, 12)).allowed
    # Texts are not call attempts.
    assert decide(s, "sms", ALEX_MOBILE, day1 + timedelta(days=5)).allowed


def test_day_eight_still_blocked_if_the_window_holds_seven():
    day1 = ny(2026, 11, 2, 12)
    attempts = tuple(Attempt("call", ALEX_MOBILE, day1 + timedelta(days=d), "no_answer")
                     for d in [1, 2, 3, 4, 5, 6, 6])  # days 2-7
    s = alex(attempts=attempts)
    d = decide(s, "call", ALEX_MOBILE, ny(2026, 11, 9, 12))  # day 8: seven in days 2-8
    assert rules_of(d) == ["us.call-frequency"]
    assert d.next_allowed_at == ny(2026, 11, 10, 11, 0)  # day 9, 08:00 Los Angeles


def test_conversation_on_monday_blocks_calls_until_next_monday():
    monday = ny(2026, 11, 2, 14)
    s = alex(attempts=(Attempt("call", ALEX_MOBILE, monday, "conversation"),))
    sunday = decide(s, "call", ALEX_MOBILE, ny(2026, 11, 8, 14))
    assert rules_of(sunday) == ["us.call-after-conversation"]
    assert sunday.next_allowed_at == ny(2026, 11, 9, 11, 0)
    assert decide(s, "call", ALEX_MOBILE, ny(2026, 11, 9, 14)).allowed
    # An email is not a call.
    assert decide(s, "email", ALEX_EMAIL, ny(2026, 11, 3, 14)).allowed


@pytest.mark.parametrize("channel", ["call", "sms", "email", "letter", "visit"])
def test_dispute_in_validation_period_blocks_every_channel_until_verification(channel):
    filed = ny(2026, 11, 12, 10)
    held = alex(holds=(Hold("us.dispute-pending-verification", filed),),
                validation_ends=date(2026, 12, 17))
    destination = {"call": ALEX_MOBILE, "sms": ALEX_MOBILE, "email": ALEX_EMAIL}.get(channel)
    d = decide(held, channel, destination, ny(2026, 11, 12, 14))
    assert not d.allowed and "us.dispute-pending-verification" in rules_of(d)
    assert d.next_allowed_at is None  # only sending verification lifts it
    lifted = alex(holds=(Hold("us.dispute-pending-verification", filed,
                              until=ny(2026, 11, 20, 9)),), validation_ends=date(2026, 12, 17))
    after = decide(lifted, channel, destination, ny(2026, 11, 20, 14))
    assert after.allowed
    # The validation period still limits what may be said.
    assert [r.rule for r in after.reasons] == ["us.validation-period"]


def test_massachusetts_third_call_in_a_week_blocked():
    s = maria(attempts=(
        Attempt("call", "+16175550199", ny(2026, 11, 2, 10), "no_answer"),
        Attempt("call", "+16175550199", ny(2026, 11, 4, 10), "no_answer"),
    ))
    third = decide(s, "call", "+16175550199", ny(2026, 11, 5, 10))
    assert rules_of(third) == ["us-ma.call-frequency"]
    assert third.next_allowed_at == ny(2026, 11, 9, 8)  # day 8 after the first call
    # A text is a telephone communication too in Massachusetts.
    assert rules_of(decide(s, "sms", "+16175550199", ny(2026, 11, 5, 10))) == [
        "us-ma.call-frequency"]
    # Two to personal numbers do not use up the other-number allowance.
    assert decide(s, "call", "+16175550100", ny(2026, 11, 5, 10)).allowed


def test_uk_breathing_space_blocks_until_day_61():
    registered = datetime(2026, 3, 2, 9, tzinfo=LONDON)
    ends = datetime(2026, 5, 2, 0, tzinfo=LONDON)  # 60 days from the day after registration
    s = oliver(holds=(Hold("uk.breathing-space", registered, until=ends),))
    d = decide(s, "call", "+447911123456", datetime(2026, 4, 15, 12, tzinfo=LONDON))
    assert rules_of(d) == ["uk.breathing-space"]
    assert d.next_allowed_at == datetime(2026, 5, 2, 8, tzinfo=LONDON)  # day 61, 08:00
    assert decide(s, "call", "+447911123456", datetime(2026, 5, 2, 10, tzinfo=LONDON)).allowed


def test_china_quiet_hours_and_three_answered_calls():
    assert decide(wang(), "call", "+8613800138000",
                  datetime(2026, 11, 30, 21, 59, tzinfo=BEIJING)).allowed
    late = decide(wang(), "call", "+8613800138000", datetime(2026, 11, 30, 22, tzinfo=BEIJING))
    assert rules_of(late) == ["cn.quiet-hours"]
    assert late.next_allowed_at == datetime(2026, 12, 1, 8, tzinfo=BEIJING)

    answered = tuple(Attempt("call", "+8613800138000",
                             datetime(2026, 11, 30, h, tzinfo=BEIJING), "conversation")
                     for h in (9, 11, 14))
    fourth = decide(wang(attempts=answered), "call", "+8613800138000",
                    datetime(2026, 11, 30, 16, tzinfo=BEIJING))
    assert rules_of(fourth) == ["cn.effective-calls-per-day"]
    assert fourth.next_allowed_at == datetime(2026, 12, 1, 8, tzinfo=BEIJING)


# --- edges -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("local", "allowed"),
    [(time(7, 59, 59), False), (time(8, 0), True), (time(20, 59, 59), True), (time(21, 0), False)],
)
def test_us_hours_edges(local, allowed):
    s = alex(contact_points=(ContactPointInfo("address", "", "home", ("America/New_York",)),))
    at = datetime.combine(date(2026, 11, 30), local, tzinfo=NY)
    assert decide(s, "email", None, at).allowed is allowed


@pytest.mark.parametrize(
    ("at", "allowed", "next_at"),
    [
        # US spring forward (8 March 2026): 08:00 EDT exists and is the opening.
        (datetime(2026, 3, 8, 7, 30, tzinfo=NY), False, datetime(2026, 3, 8, 8, tzinfo=NY)),
        (datetime(2026, 3, 8, 8, 0, tzinfo=NY), True, None),
        # US fall back (1 November 2026): 21:00 closes at 21:00 EST.
        (datetime(2026, 11, 1, 20, 59, tzinfo=NY), True, None),
        (datetime(2026, 11, 1, 21, 0, tzinfo=NY), False, datetime(2026, 11, 2, 8, tzinfo=NY)),
    ],
)
def test_us_dst_nights(at, allowed, next_at):
    s = alex(contact_points=(ContactPointInfo("address", "", "home", ("America/New_York",)),))
    d = decide(s, "call", None, at)
    assert (d.allowed, d.next_allowed_at) == (allowed, next_at)


def test_uk_clocks_change():
    # UK spring forward 29 March 2026 at 01:00 GMT: 07:30 BST is still too early.
    d = decide(oliver(), "call", "+447911123456", datetime(2026, 3, 29, 6, 30, tzinfo=UTC))
    assert not d.allowed
    assert d.next_allowed_at == datetime(2026, 3, 29, 8, tzinfo=LONDON)
    assert d.next_allowed_at == datetime(2026, 3, 29, 7, tzinfo=UTC)


def test_three_time_zones_the_strictest_wins():
    s = alex(contact_points=(
        ContactPointInfo("address", "", "home", ("America/New_York",)),
        ContactPointInfo("phone", "+13125550100", "mobile", ("America/Chicago",)),
        ContactPointInfo("phone", "+19075550100", "mobile", ("America/Anchorage",)),
    ))
    d = decide(s, "call", "+13125550100", ny(2026, 11, 30, 11, 30))  # 07:30 in Anchorage
    assert rules_of(d) == ["us.inconvenient-hours"]
    assert d.next_allowed_at == ny(2026, 11, 30, 12, 0)
    # And the evening closes at 21:00 New York time.
    assert not decide(s, "call", "+13125550100", ny(2026, 11, 30, 21, 0)).allowed


def test_every_reason_is_listed_when_several_apply():
    s = alex(holds=(Hold("us.dispute-pending-verification", ny(2026, 11, 1, 9)),
                    Hold("policy.plan-in-good-standing", ny(2026, 11, 1, 9),
                         channels=frozenset({"call", "sms"}))))
    d = decide(s, "call", ALEX_MOBILE, ny(2026, 11, 30, 6))
    assert rules_of(d) == ["us.dispute-pending-verification", "policy.plan-in-good-standing",
                           "us.inconvenient-hours"]
    assert d.next_allowed_at is None
    assert all(r.citation and r.borrower_text and r.agent_text for r in d.reasons)


def test_policy_rules_can_be_switched_off_law_cannot():
    held = alex(holds=(Hold("policy.plan-in-good-standing", ny(2026, 11, 1, 9)),),
                policy={"policy.plan-in-good-standing": False})
    assert decide(held, "call", ALEX_MOBILE, ny(2026, 11, 30, 12)).allowed


@pytest.mark.parametrize(
    ("prefs", "channel", "destination", "blocked_by", "next_at"),
    [
        (Preferences(opted_out_channels=frozenset({"sms"})), "sms", ALEX_MOBILE,
         "us.channel-opt-out", None),
        (Preferences(opted_out_destinations=frozenset({ALEX_EMAIL})), "email", ALEX_EMAIL,
         "us.channel-opt-out", None),
        # "Not between 11:00 and 13:00" (New York, the mailing address): open again at 13:00.
        (Preferences(inconvenient=(TimeWindow(time(11), time(13)),)), "call", ALEX_MOBILE,
         "us.inconvenient-time-named", ny(2026, 11, 30, 13)),
    ],
)
def test_borrower_preferences(prefs, channel, destination, blocked_by, next_at):
    d = decide(alex(preferences=prefs), channel, destination, ny(2026, 11, 30, 12))
    assert rules_of(d) == [blocked_by]
    assert d.next_allowed_at == next_at
    # Other channels are untouched.
    assert decide(alex(preferences=prefs), "letter", None, ny(2026, 11, 30, 12)).allowed


def test_workplace_contact():
    s = maria(preferences=Preferences(workplace_prohibited=True))
    assert rules_of(decide(s, "call", "+16175550100", ny(2026, 11, 30, 12))) == [
        "us.workplace-prohibited"]
    assert decide(s, "call", "+16175550199", ny(2026, 11, 30, 12)).allowed


@pytest.mark.parametrize(
    ("channel", "rule"),
    [("third_party", "cn.third-party"), ("visit", "cn.private-channels")],
)
def test_china_third_parties_and_visits(channel, rule):
    d = decide(wang(), channel, None, datetime(2026, 11, 30, 12, tzinfo=BEIJING))
    assert rules_of(d) == [rule] and d.next_allowed_at is None


def test_china_six_unanswered_dials_to_one_number():
    dials = tuple(Attempt("call", "+8613800138000",
                          datetime(2026, 11, 30, 9, 10 * i, tzinfo=BEIJING), "no_answer")
                  for i in range(6))
    d = decide(wang(attempts=dials), "call", "+8613800138000",
               datetime(2026, 11, 30, 12, tzinfo=BEIJING))
    assert rules_of(d) == ["cn.unanswered-attempts-per-day"]


def test_letters_are_not_bound_to_the_hour():
    assert decide(alex(), "letter", None, ny(2026, 11, 30, 23)).allowed


def test_packs_are_versioned_by_effective_date():
    assert [p.id for p in packs_for("US", "MA", date(2026, 1, 1))] == ["US", "US-MA"]
    with pytest.raises(ValueError):
        packs_for("CN", None, date(2024, 1, 1))  # before GB/T 45251-2025 took effect


def test_naive_times_and_unknown_channels_are_refused():
    with pytest.raises(ValueError):
        decide(alex(), "call", ALEX_MOBILE, datetime(2026, 11, 30, 12))
    with pytest.raises(ValueError):
        decide(alex(), "pigeon", None, ny(2026, 11, 30, 12))
