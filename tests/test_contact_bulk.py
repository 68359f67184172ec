"""The bulk path decides exactly what the single path decides: random accounts (time zones in the
US, the UK and China, holds, preferences, opt-outs, attempts, validation periods) at random
instants around daylight-saving nights, written to the database and decided both ways."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from portal.accounts.models import Account, Borrower, ContactPoint, Creditor
from portal.agency.models import Agency
from portal.cases.kinds import EventKind
from portal.cases.service import Actor, record
from portal.contact import bulk, bulk_sql, bulk_stream, service
from portal.contact.models import ContactAttempt, ContactHold, ContactPreferences
from portal.contact.rulebook import PARTNER_PURPOSES, Purpose
from portal.contact.snapshot import CHANNELS, OUTCOMES
from portal.crypto import lookup_digest
from portal.extensions import db as database

ZONES = ["America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles",
         "America/Phoenix", "Pacific/Honolulu", "Europe/London", "Asia/Shanghai"]
PLACES = [("US", "NY"), ("US", "MA"), ("US", "CA"), ("US", "TX"), ("US", None), ("GB", None),
          ("CN", None)]
PHONES = ["+12125550100", "+13105550101", "+16175550199", "+447911123456", "+8613800138000"]
EMAILS = ["pat@example.com", "sam@example.com"]
OTHER = "+12025550123"  # a number nobody has
RULES = ["us.cease-communication", "us.bankruptcy-stay", "us.dispute-pending-verification",
         "us.attorney-represented", "uk.breathing-space", "uk.dispute", "uk.contact-reasonable",
         "policy.channel-opt-out", "policy.hardship-review", "cn.quiet-hours", "us.deceased",
         "uk.insolvency", "uk.mental-capacity", "uk.mental-health-crisis"]
#: Nights the clocks change (US, then UK), and two ordinary days.
NIGHTS = [datetime(2026, 3, 8, 7, tzinfo=UTC), datetime(2026, 11, 1, 6, tzinfo=UTC),
          datetime(2026, 3, 29, 1, tzinfo=UTC), datetime(2026, 10, 25, 1, tzinfo=UTC),
          datetime(2026, 6, 15, 12, tzinfo=UTC), datetime(2026, 1, 9, 16, tzinfo=UTC)]
numbers = itertools.count(1)

minutes = st.integers(min_value=-2 * 24 * 60, max_value=2 * 24 * 60).map(
    lambda m: timedelta(minutes=m))
instants = st.builds(lambda night, shift: night + shift, st.sampled_from(NIGHTS), minutes)
clock = st.builds(lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 23), st.sampled_from([0, 30]))
some_channels = st.none() | st.frozensets(st.sampled_from(CHANNELS), min_size=1).map(sorted)


@st.composite
def points(draw, simple: bool):
    """Contact points in any order: addresses (usually one), phones, an email; or, `simple`, the
    usual make-up: one mailing address first, with a zone, and nobody opted out."""
    drawn = []
    addresses = 1 if simple else draw(st.integers(0, 2) if draw(st.booleans()) else st.just(1))
    for _ in range(addresses):
        country, region = draw(st.sampled_from(PLACES))
        drawn.append(("address", "home", f"{draw(st.integers(1, 99))} Main St", country, region))
    for _ in range(draw(st.integers(0, 3))):
        drawn.append(("phone", draw(st.sampled_from(["mobile", "home", "work"])),
                      draw(st.sampled_from(PHONES)), None, None))
    if draw(st.booleans()):
        drawn.append(("email", "personal", draw(st.sampled_from(EMAILS)), None, None))
    if simple:
        drawn = drawn[:1] + draw(st.permutations(drawn[1:]))
    else:
        drawn = draw(st.permutations(drawn))
    return [(kind, label, value, country, region,
             draw(st.lists(st.sampled_from(ZONES), min_size=int(simple and i == 0), max_size=3,
                           unique=True)),
             not simple and draw(st.integers(0, 9)) == 0,  # opted out
             # An employer's email address (1006.22(f)(3)), cleared by the borrower or not.
             kind == "email" and draw(st.booleans()), draw(st.booleans()))
            for i, (kind, label, value, country, region) in enumerate(drawn)]


@st.composite
def account_state(draw):
    at = draw(instants)
    simple = draw(st.booleans())  # the usual make-up, that the first look decides
    state = {"at": at, "points": draw(points(simple))}
    state["sent"] = draw(st.none() | st.integers(-3, 60).map(lambda d: at - timedelta(days=d)))
    state["holds"] = [
        {"rule": draw(st.sampled_from(RULES)), "channels": draw(some_channels),
         "scope": draw(st.sampled_from(["account", "borrower", "other account"])),
         "started": at + timedelta(hours=draw(st.integers(-60 * 24, 48))),
         "until": draw(st.none() | st.integers(1, 70 * 24).map(lambda h: timedelta(hours=h))),
         "ended": draw(st.none() | st.integers(1, 40 * 24).map(lambda h: timedelta(hours=h)))}
        for _ in range(draw(st.integers(0, 1 if simple else 3)))
    ]
    state["preferences"] = draw(st.none() | st.fixed_dictionaries({}, optional={
        "opted_out_channels": st.lists(st.sampled_from(["call", "sms", "email", "letter"]),
                                       unique=True),
        "opted_out_points": st.lists(st.integers(0, 5), unique=True),  # indexes into points
        "inconvenient": st.lists(st.fixed_dictionaries(
            {"start": clock, "end": clock},
            optional={"channels": st.lists(st.sampled_from(["call", "sms", "email"]),
                                           min_size=1, unique=True)}), max_size=2),
        "workplace_prohibited": st.booleans(),
        "language": st.just("en"),
        # Consents to contact outside the usual hours, as contact/derive.py stores them.
        "consented": st.lists(st.fixed_dictionaries(
            {"id": st.integers(1, 9), "start": clock, "end": clock,
             "channels": st.sampled_from(["call", "sms", "email"]).map(lambda c: [c])},
            optional={"days": st.lists(st.integers(0, 6), min_size=1, max_size=5, unique=True)}),
            max_size=2),
    }))
    values = [p[2] for p in state["points"] if p[0] != "address"] + [OTHER]
    # Attempts over the whole lookback, or crowded into the last days (to reach the limits).
    span = draw(st.sampled_from([33 * 24 * 60, 8 * 24 * 60, 36 * 60, 4 * 60]))
    state["attempts"] = [
        (draw(st.sampled_from(["call", "call", "call", "sms", "email", "visit"])),
         draw(st.none() | st.sampled_from(values)),
         at - timedelta(minutes=draw(st.integers(-2 * 24 * 60, span))),
         draw(st.sampled_from(OUTCOMES + ("conversation", "no_answer"))),
         draw(st.sampled_from(["outbound", "outbound", "inbound"])),  # who called
         draw(st.integers(0, 5)) == 0)  # with the borrower's prior consent
        for _ in range(draw(st.integers(0, 14)))
    ]
    # The agency's policy switches: none, or some rules off (the CLI refuses the law's, the
    # engine would still honour them).
    state["policy"] = draw(st.none() | st.dictionaries(
        st.sampled_from(["policy.channel-opt-out", "policy.hardship-review",
                         "policy.dispute-outside-validation", "uk.contact-reasonable",
                         "us.inconvenient-hours", "uk.contact-request", "cn.contact-request",
                         "us-ma.visit-frequency"]), st.booleans(), max_size=3))
    destinations = st.none() | st.just("") | st.sampled_from(values)
    later = st.builds(lambda h: at + timedelta(hours=h), st.integers(1, 80))
    state["asks"] = draw(st.lists(
        st.tuples(st.sampled_from(CHANNELS), destinations, st.just(at) | later),
        min_size=1, max_size=6))
    return state


def write(state) -> int:
    """The state as rows, as the app would have written them; the id of the account asked about."""
    n = next(numbers)
    session = database.session
    creditor = Creditor(code=f"BULK{n}", name="Bulk test", country="US")
    if state.get("policy") is not None:
        agency = Agency(name=f"Bulk agency {n}", contact_policy=state["policy"])
        session.add(agency)
        session.flush()
        creditor.agency_id = agency.id
    borrower = Borrower(reference=f"BULK-{n}", given_name="Pat", family_name="Doe",
                        display_name="Pat Doe", date_of_birth="1980-01-01",
                        date_of_birth_digest=lookup_digest("1980-01-01", "borrower.date_of_birth"))
    session.add_all([creditor, borrower])
    session.flush()
    rows = []
    for kind, label, value, country, region, zones, opted_out, *employer in state["points"]:
        flags = dict(zip(("employer_provided", "employer_email_consent"), employer, strict=False))
        rows.append(ContactPoint(
            borrower_id=borrower.id, kind=kind, label=label, value=value,
            value_digest=lookup_digest(value, f"contact_point.{kind}"),
            country=country or "US", region=region, time_zones=zones,
            opted_out_at=state["at"] - timedelta(days=1) if opted_out else None, **flags))
        session.add(rows[-1])
        session.flush()  # ids in the drawn order
    accounts = [Account(reference=f"BULK-{n}-{i}", borrower_id=borrower.id,
                        creditor_id=creditor.id, product="card", currency="USD",
                        original_account_number="1234",
                        original_account_number_digest=b"\0" * 32,
                        itemization_date=state["at"].date(),
                        validation_notice_sent_at=state["sent"], placed_at=state["at"])
                for i in range(2)]
    session.add_all(accounts)
    session.flush()
    account = accounts[0]
    event = record(Actor.system("bulk-test"), EventKind.CEASE_REQUESTED, borrower_id=borrower.id)
    for hold in state["holds"]:
        scope = {"account": account.id, "borrower": None, "other account": accounts[1].id}
        session.add(ContactHold(
            borrower_id=borrower.id, account_id=scope[hold["scope"]], rule=hold["rule"],
            channels=hold["channels"], started_at=hold["started"],
            until=hold["started"] + hold["until"] if hold["until"] else None,
            started_by_event_id=event.id, key=hold["rule"],
            ended_at=hold["started"] + hold["ended"] if hold["ended"] else None))
    if state["preferences"] is not None:
        data = dict(state["preferences"])
        if "opted_out_points" in data:
            data["opted_out_points"] = [rows[i].id for i in data["opted_out_points"]
                                        if i < len(rows)]
        session.add(ContactPreferences(borrower_id=borrower.id, data=data,
                                       updated_at=state["at"]))
    for channel, destination, at, outcome, *how in state["attempts"]:
        session.add(ContactAttempt(
            account_id=account.id, channel=channel, destination=destination,
            destination_digest=lookup_digest(destination, "contact_attempt.destination")
            if destination else None,
            at=at, outcome=outcome, reported_by="test", violation=False, violated_rules=[],
            recorded_at=at, **dict(zip(("direction", "with_consent"), how, strict=False))))
    session.flush()
    return account.id


def both_ways(account_id: int, asks, stream: bool = False, full_read: bool = False):
    mine = [bulk.Ask(account_id, channel, destination, at) for channel, destination, at in asks]
    if stream:  # two asks a batch, the next batch read while this one is decided
        bulk_answers = list(bulk.decide_stream(mine, size=2, full_read=full_read))
    else:
        bulk_answers = bulk.decide_many(mine, full_read=full_read)
    account = database.session.get(Account, account_id)
    single = [service.decide(account, channel, destination, at)
              for channel, destination, at in asks]
    return bulk_answers, single


@settings(max_examples=50, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(state=account_state(),
       way=st.sampled_from(["first look", "full read", "large batch", "stream"]))
# Found by a longer run: a borrower without contact points, five calls (one answered) at `at`.
@example(state={"at": NIGHTS[0], "points": [], "sent": None, "holds": [], "preferences": None,
                "attempts": [("call", None, NIGHTS[0], "no_answer")] * 4
                + [("call", None, NIGHTS[0], "conversation")],
                "policy": None, "asks": [("call", None, NIGHTS[0])]}, way="first look")
# Found by a longer run (issue 12): a stored policy naming a law hold; both paths keep the hold.
@example(state={"at": NIGHTS[0], "points": [("address", "home", "1 Main St", "US", "NY", [],
                                             True, False, False)],
                "sent": None, "holds": [{"rule": "uk.contact-reasonable", "channels": None,
                                         "scope": "account", "started": NIGHTS[0],
                                         "until": None, "ended": None}],
                "preferences": None, "attempts": [], "policy": {"uk.contact-reasonable": False},
                "asks": [("call", None, NIGHTS[0])]}, way="first look")
def test_bulk_decides_exactly_what_one_decision_decides(db, monkeypatch, state, way):
    """Both ways on the same rows; the bulk way as it is, or reading every account in full,
    or with the memory of a large batch, or as a stream of small batches."""
    account_id = db.run(write, state)
    monkeypatch.setattr(bulk_sql, "LARGE", 0 if way == "large batch" else 10**9)
    got, want = db.run(both_ways, account_id, state["asks"], way == "stream",
                       way == "full read")
    for ask, mine, theirs in zip(state["asks"], got, want, strict=True):
        assert (mine.allowed, mine.reasons, mine.next_allowed_at) == \
            (theirs.allowed, theirs.reasons, theirs.next_allowed_at), (ask, state)


def test_many_accounts_in_one_call_each_get_their_own_answer(db):
    """One call, several accounts (plain, held, talked to): each answer is its own account's."""
    at = datetime(2026, 3, 10, 15, tzinfo=UTC)
    plain = {"at": at, "points": [("address", "home", "1 Main St", "US", "NY",
                                   ["America/New_York"], False),
                                  ("phone", "mobile", PHONES[0], None, None,
                                   ["America/New_York"], False)],
             "sent": None, "holds": [], "preferences": None, "attempts": [], "asks": []}
    held = {**plain, "holds": [{"rule": "us.cease-communication", "channels": None,
                                "scope": "borrower", "started": at - timedelta(days=3),
                                "until": None, "ended": None}]}
    talked = {**plain, "attempts": [("call", PHONES[0], at - timedelta(days=2),
                                     "conversation")]}
    ids = [db.run(write, s) for s in (plain, held, talked, plain)]

    def decide():
        memo = bulk.Memo()
        asks = [bulk.Ask(i, "call", PHONES[0], at) for i in ids] * 2
        first = bulk.decide_many(asks, memo)
        again = bulk.decide_many(asks, memo)  # answered from the memo, the same
        single = [service.decide(database.session.get(Account, a.account_id), a.channel,
                                 a.destination, a.at) for a in asks]
        return first, again, single

    first, again, single = db.run(decide)
    assert first == again == single
    assert [d.allowed for d in first[:4]] == [True, False, False, True]
    assert {r.rule for r in first[1].reasons} >= {"us.cease-communication"}
    assert "us.call-after-conversation" in {r.rule for r in first[2].reasons}


def test_unknown_account_and_bad_questions_are_refused(db):
    at = datetime(2026, 3, 10, 15, tzinfo=UTC)
    with pytest.raises(LookupError):
        db.run(bulk.decide_many, [bulk.Ask(2**31 - 1, "call", PHONES[0], at)])
    with pytest.raises(ValueError, match="unknown channel"):
        db.run(bulk.decide_many, [bulk.Ask(1, "fax", None, at)])
    with pytest.raises(ValueError, match="time zone"):
        db.run(bulk.decide_many, [bulk.Ask(1, "call", None, at.replace(tzinfo=None))])
    assert db.run(bulk.decide_many, []) == []


@pytest.mark.parametrize(("place", "zone", "phone", "attempts", "rule"), [
    # Beijing: three answered calls today, then six unanswered ones to one number.
    (("CN", None), "Asia/Shanghai", PHONES[4],
     [("call", PHONES[4], -h, "conversation") for h in (1, 2, 3)],
     "cn.effective-calls-per-day"),
    (("CN", None), "Asia/Shanghai", PHONES[4],
     [("call", PHONES[4], -h / 4, "no_answer") for h in range(6)],
     "cn.unanswered-attempts-per-day"),
    # Massachusetts: two calls this week to the home number.
    (("US", "MA"), "America/New_York", PHONES[2],
     [("call", PHONES[2], -h, "no_answer") for h in (30, 60)], "us-ma.call-frequency"),
    # Seven calls in seven days.
    (("US", "NY"), "America/New_York", PHONES[0],
     [("call", PHONES[0], -24 * d - 1, "voicemail") for d in range(7)], "us.call-frequency"),
])
def test_call_limits_are_counted_alike(db, place, zone, phone, attempts, rule):
    at = datetime(2026, 3, 10, 8, tzinfo=UTC)  # 16:00 in Beijing, 04:00 in New York
    if zone != "Asia/Shanghai":
        at = datetime(2026, 3, 10, 16, tzinfo=UTC)  # 12:00 in New York
    state = {"at": at, "points": [("address", "home", "1 Main St", *place, [zone], False),
                                  ("phone", "home", phone, None, None, [zone], False)],
             "sent": None, "holds": [], "preferences": None,
             "attempts": [(c, d, at + timedelta(hours=h), o) for c, d, h, o in attempts],
             "asks": []}
    account_id = db.run(write, state)
    asks = [("call", phone, at), ("call", OTHER, at), ("sms", phone, at)]
    got, want = db.run(both_ways, account_id, asks)
    assert got == want
    assert rule in {r.rule for r in got[0].reasons if r.effect == "block"}


def test_a_notice_older_than_the_span_has_its_validation_period_over():
    """PAIRS_SQL forgets a notice sent more than SENT_SPAN before `at`: its period must be over
    then in every zone (a local date is at most a day before the UTC date)."""
    from datetime import date

    from portal.accounts.validation import period_end

    day = date(2020, 1, 1)
    while day < date(2036, 1, 1):
        assert (period_end(day) - day).days + 2 <= bulk_sql.SENT_SPAN.days, day
        day += timedelta(days=1)


def test_a_stream_collects_garbage_less_often_and_puts_the_setting_back(db):
    """While a stream runs, the youngest generation is collected every STREAM_GC_THRESHOLD
    allocations; when it ends, or its reader stops early, the process's own setting is back."""
    import gc

    at = datetime(2026, 3, 10, 15, tzinfo=UTC)
    state = {"at": at, "points": [("address", "home", "1 Main St", "US", "NY",
                                   ["America/New_York"], False)],
             "sent": None, "holds": [], "preferences": None, "attempts": [], "asks": []}
    ids = [db.run(write, state) for _ in range(3)]
    before = gc.get_threshold()

    def read(stop_after: int | None):
        seen = []
        stream = bulk.decide_stream((bulk.Ask(i, "call", None, at) for i in ids * 2), size=2)
        for n, decision in enumerate(stream):
            seen.append((gc.get_threshold()[0], decision.allowed))
            if n + 1 == stop_after:
                stream.close()
                break
        return seen

    whole = db.run(read, None)
    assert [t for t, _ in whole] == [bulk_stream.STREAM_GC_THRESHOLD] * 6
    assert gc.get_threshold() == before
    early = db.run(read, 3)
    assert len(early) == 3 and gc.get_threshold() == before

    # Two streams at once (two threads, say): the setting comes back only when both are done.
    with bulk_stream.fewer_collections():
        with bulk_stream.fewer_collections():
            assert gc.get_threshold()[0] == bulk_stream.STREAM_GC_THRESHOLD
        assert gc.get_threshold()[0] == bulk_stream.STREAM_GC_THRESHOLD
    assert gc.get_threshold() == before


FLAGS = ("opted_out", "has_preferences", "held", "attempted", "telephoned", "called_recently",
         "called_often", "talked_recently")
AT = datetime(2026, 3, 10, 15, tzinfo=UTC)
HOME = [("address", "home", "1 Main St", "US", "NY", ["America/New_York"], False),
        ("phone", "mobile", PHONES[0], None, None, ["America/New_York"], False)]
HELD = {"rule": "us.cease-communication", "channels": None, "scope": "borrower",
        "started": AT - timedelta(days=3), "until": None, "ended": None}
CALLED = {"attempted", "telephoned", "called_recently"}


def calls(outcome: str, *days_ago: float) -> list:
    return [("call", PHONES[0], AT - timedelta(days=d), outcome) for d in days_ago]


@pytest.mark.parametrize(("change", "flags"), [
    ({}, set()),
    ({"points": [HOME[0], HOME[1][:-1] + (True,)]}, {"opted_out"}),
    ({"preferences": {"language": "en", "opted_out_channels": []}}, set()),
    ({"preferences": {"opted_out_channels": ["sms"]}}, {"has_preferences"}),
    ({"preferences": {"workplace_prohibited": True}}, {"has_preferences"}),
    ({"preferences": {"consented": [{"id": 1, "channels": ["call"], "start": "07:00",
                                     "end": "08:00"}]}}, {"has_preferences"}),
    ({"holds": [HELD]}, {"held"}),
    ({"holds": [{**HELD, "ended": timedelta(days=1)}]}, set()),  # lifted before the instant
    ({"holds": [{**HELD, "started": AT + timedelta(hours=1)}]}, set()),  # not yet started
    ({"attempts": [("email", EMAILS[0], AT - timedelta(days=20), "delivered")]}, {"attempted"}),
    ({"attempts": [("sms", PHONES[0], AT - timedelta(days=1), "delivered")]},
     {"attempted", "telephoned"}),
    ({"attempts": calls("conversation", 20)}, {"attempted", "telephoned"}),  # weeks ago
    ({"attempts": calls("no_answer", 1)}, CALLED),
    ({"attempts": calls("conversation", 1)}, CALLED | {"talked_recently"}),
    ({"attempts": calls("no_answer", *range(7))}, CALLED | {"called_often"}),
    ({"attempts": calls("no_answer", 40, -1)}, set()),  # before the lookback, after the instant
])
def test_pairs_sql_names_what_an_account_has_of_its_own(db, change, flags):
    """Each named column of PAIRS_SQL's row is true exactly when the account has that thing."""
    state = {"at": AT, "points": HOME, "sent": None, "holds": [], "preferences": None,
             "attempts": [], "asks": [], **change}
    account_id = db.run(write, state)

    def read():
        keys = [(account_id, AT)]
        return bulk_sql.receive(bulk_sql.send(bulk_sql.connection(), bulk_sql.params(keys)),
                                keys)

    [row] = db.run(read)
    assert {name for name in FLAGS if getattr(row, name)} == flags
    assert row.own is bool(flags)


#: Consents honoured alike: calls 07:00-08:00 New York time on weekdays (AT is a Tuesday).
CONSENTED = {"preferences": {"consented": [{"id": 1, "channels": ["call"], "start": "07:00",
                                            "end": "08:00", "days": [0, 1, 2, 3, 4]}]}}
EARLY = datetime(2026, 3, 10, 11, 30, tzinfo=UTC)  # 07:30 in New York


@pytest.mark.parametrize("full_read", [False, True])
def test_a_consent_is_honoured_alike_both_ways(db, full_read):
    state = {"at": EARLY, "points": HOME, "sent": None, "holds": [], "attempts": [],
             "asks": [], **CONSENTED}
    account_id = db.run(write, state)
    asks = [("call", PHONES[0], EARLY), ("sms", PHONES[0], EARLY),
            ("call", PHONES[0], EARLY + timedelta(days=4))]  # a Saturday
    got, want = db.run(both_ways, account_id, asks, False, full_read)
    assert [d.allowed for d in got] == [d.allowed for d in want] == [True, False, False]
    assert got == want


@pytest.mark.parametrize("purpose", [None, *PARTNER_PURPOSES])
def test_a_cease_lets_its_notices_through_alike_both_ways(db, purpose):
    state = {"at": AT, "points": HOME + [("email", "personal", EMAILS[0], None, None, [], False)],
             "sent": None, "holds": [HELD], "preferences": None, "attempts": [], "asks": []}
    account_id = db.run(write, state)
    asks = [("letter", None, AT), ("email", EMAILS[0], AT), ("call", PHONES[0], AT),
            ("email", EMAILS[0], AT + timedelta(hours=12))]  # 23:00 in New York

    def run():
        mine = [bulk.Ask(account_id, c, d, at, purpose) for c, d, at in asks]
        account = database.session.get(Account, account_id)
        return (bulk.decide_many(mine),
                [service.decide(account, c, d, at, purpose) for c, d, at in asks])

    got, want = db.run(run)
    assert got == want
    notice = purpose not in (None, Purpose.COLLECTION)
    assert [d.allowed for d in got] == [notice, notice, False, False]
