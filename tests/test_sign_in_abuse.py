"""Guessing is slow and tells nothing; sessions end when they should, on the server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from limits import parse
from sqlalchemy import select, update

from portal.cases.models import CaseEvent
from portal.identity.models import PortalSession, SignInFailure
from portal.identity.views import SIGN_IN_LIMIT
from tests.fixtures.client import dob

ALEX = ("DEMO-1001", "1985-04-12")
MARIA = ("DEMO-1002", "1979-07-30")
GENERIC_REFUSAL = (
    "We could not match those details. Check your reference number and date of birth."
)
LOCKED = "Too many attempts. For your security, try again after 15 minutes."
IDLE_NOTICE = "You were signed out after 15 minutes without activity."


def _try(person, reference: str, date_of_birth: str, page=None):
    page = page if page is not None and page.h1 == "Sign in" else person.get("/sign-in")
    return person.submit(page, {"reference": reference, **dob(date_of_birth)},
                         action="/sign-in")


def _alert(page) -> str:
    alert = page.soup.find(id="form-errors")
    assert alert is not None, page.text[:400]
    return " ".join(alert.get_text(" ").split())


def _fail_five_times(person, reference: str):
    page = None
    for _ in range(5):
        page = _try(person, reference, "2001-01-01", page)
        assert page.status == 422
        assert GENERIC_REFUSAL in _alert(page)
    return page


# --- lockout per reference ---------------------------------------------------------------------


def test_five_wrong_birth_dates_lock_the_reference(person, demo):
    _fail_five_times(person, ALEX[0])

    page = _try(person, *ALEX)  # the right date of birth, too late

    assert page.status == 429
    assert page.h1 == "Sign in"
    assert LOCKED in _alert(page)
    assert GENERIC_REFUSAL not in page.text
    assert person.get("/sign-in/send-code").h1 == "Sign in"  # no way past the first step


def test_unknown_reference_is_locked_the_same_way(person, make_person, demo):
    _fail_five_times(person, ALEX[0])
    real = _try(person, *ALEX)

    other = make_person()
    _fail_five_times(other, "DEMO-9999")
    made_up = _try(other, "DEMO-9999", "1985-04-12")

    assert made_up.status == real.status == 429
    assert _alert(made_up) == _alert(real)
    assert [e.get_text() for e in made_up.soup.select(".error")] == \
        [e.get_text() for e in real.soup.select(".error")]


def test_lockout_leaves_other_references_alone(person, demo):
    _fail_five_times(person, ALEX[0])
    assert _try(person, *ALEX).status == 429

    page = person.sign_in(*MARIA)  # same device, same address

    assert page.status == 200 and page.url == "/accounts/"  # in her language, Spanish


def test_lockout_follows_the_reference_to_another_device(person, make_person, demo):
    _fail_five_times(person, ALEX[0])

    for typed in (ALEX[0], " demo-1001 ", "DEMO- 1001"):
        elsewhere = make_person()
        page = _try(elsewhere, typed, ALEX[1])
        assert page.status == 429, typed
        assert LOCKED in _alert(page)


def test_lockout_ends_after_its_window(person, demo, db):
    _fail_five_times(person, ALEX[0])
    assert _try(person, *ALEX).status == 429

    db.execute(update(SignInFailure).values(failed_at=datetime.now(UTC) - timedelta(minutes=16)))

    page = _try(person, *ALEX)
    assert page.status == 200 and page.h1 == "Get your sign-in code", page


def test_four_failures_do_not_lock(person, demo):
    page = None
    for _ in range(4):
        page = _try(person, ALEX[0], "2001-01-01", page)
        assert page.status == 422
    assert _try(person, *ALEX).h1 == "Get your sign-in code"


# --- rate limit per client address -------------------------------------------------------------


def test_too_many_sign_in_posts_from_one_address_are_refused(person, make_person, demo):
    limit = parse(SIGN_IN_LIMIT).amount
    page = None
    for n in range(limit):
        # A different made-up reference each time, so no reference lockout gets in the way.
        page = _try(person, f"NOPE-{n:04d}", "2001-01-01", page)
        assert page.status == 422, (n, page.status)

    page = _try(person, "NOPE-9999", "2001-01-01", page)

    assert page.status == 429
    assert page.h1 == "Please wait"
    assert "Too many attempts. Wait a few minutes, then try again." in page.text
    # Even the right details wait; the form itself can still be read.
    assert _try(person, *ALEX).status == 429
    assert person.get("/sign-in").status == 200
    # Another address is not affected.
    assert _try(make_person(), *ALEX).h1 == "Get your sign-in code"


def test_rate_limit_says_when_to_come_back(person, demo):
    limit = parse(SIGN_IN_LIMIT).amount
    token = person.csrf_token()
    for n in range(limit):
        person.client.post("/sign-in", data={
            "csrf_token": token, "reference": f"NOPE-{n:04d}", **dob("2001-01-01")})
    response = person.client.post("/sign-in", data={
        "csrf_token": token, "reference": "NOPE-9999", **dob("2001-01-01")})

    assert response.status_code == 429
    assert 0 < int(response.headers["Retry-After"]) <= 600


# --- idle timeout ------------------------------------------------------------------------------


def _session_row(db) -> PortalSession:
    rows = db.scalars(select(PortalSession))
    assert len(rows) == 1
    return rows[0]


def _idle_for(db, minutes: float) -> datetime:
    at = datetime.now(UTC) - timedelta(minutes=minutes)
    db.execute(update(PortalSession).values(last_seen_at=at))
    return at


def test_idle_session_ends_after_15_minutes(person, demo, db):
    person.sign_in(*ALEX)
    _idle_for(db, 16)

    page = person.get("/accounts/")

    assert page.h1 == "Sign in"
    assert IDLE_NOTICE in page.text
    row = _session_row(db)
    assert row.ended_at is not None and row.end_reason == "idle"
    kinds = db.scalars(select(CaseEvent.kind).where(CaseEvent.stream.like("borrower:%")))
    assert kinds.count("borrower.session_expired") == 1
    # It is over on the server: freshening the row afterwards brings nobody back.
    _idle_for(db, 0)
    assert person.get("/accounts/").h1 == "Sign in"
    # The notice is said once.
    assert IDLE_NOTICE not in person.get("/sign-in").text


def test_session_status_warns_near_the_end_without_counting_as_activity(person, demo, db):
    person.sign_in(*ALEX)

    quiet = _idle_for(db, 5)
    response = person.client.get("/session/status", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response.get_data(as_text=True).strip() == ""
    assert _session_row(db).last_seen_at == quiet

    nearly = _idle_for(db, 14)
    page = person.get("/session/status", headers={"HX-Request": "true"})
    assert page.status == 200
    assert "Are you still there?" in page.text
    assert "signed out in about 1 minute." in page.text
    assert page.soup.find("button", string="Stay signed in") is not None
    assert _session_row(db).last_seen_at == nearly  # polling did not keep the session alive

    # "Stay signed in", as htmx sends it: the warning goes away and the clock starts again.
    extended = person.submit(page, action="/session/extend",
                             headers={"HX-Request": "true", "HX-Target": "idle-warning"})
    assert extended.status == 200 and extended.html.strip() == ""
    seen = _session_row(db).last_seen_at
    assert datetime.now(UTC) - seen < timedelta(seconds=30)
    assert person.client.get("/session/status").get_data(as_text=True).strip() == ""


def test_stay_signed_in_works_without_javascript(person, demo, db):
    person.sign_in(*ALEX)
    _idle_for(db, 14)
    page = person.get("/session/status")

    page = person.submit(page, action="/session/extend")

    assert page.status == 200 and page.h1 == "Your accounts"
    assert datetime.now(UTC) - _session_row(db).last_seen_at < timedelta(seconds=30)


def test_session_status_after_the_end_sends_you_to_sign_in(person, demo, db):
    person.sign_in(*ALEX)
    _idle_for(db, 16)

    response = person.client.get("/session/status", headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert response.headers["HX-Redirect"] == "/sign-in"
    assert _session_row(db).end_reason == "idle"


def test_extend_cannot_revive_an_ended_session(person, demo, db):
    person.sign_in(*ALEX)
    _idle_for(db, 14)
    warning = person.get("/session/status")
    _idle_for(db, 16)

    page = person.submit(warning, action="/session/extend")

    assert page.h1 == "Sign in"
    assert _session_row(db).end_reason == "idle"
    assert person.get("/accounts/").h1 == "Sign in"


# --- sign-out ----------------------------------------------------------------------------------


def test_sign_out_ends_the_session_on_the_server(person, make_person, demo, db):
    person.sign_in(*ALEX)
    cookie = person.client.get_cookie("portal_session").value
    copy = make_person()
    copy.client.set_cookie("portal_session", cookie)
    assert copy.get("/accounts/").h1 == "Your accounts"  # the copy works while signed in

    page = person.sign_out()
    assert page.h1 == "Sign in" and "You have signed out." in page.text

    replay = make_person()
    replay.client.set_cookie("portal_session", cookie)
    response = replay.client.get("/accounts/")
    assert response.status_code in (302, 303)
    assert replay.get("/accounts/").h1 == "Sign in"
    assert copy.get("/accounts/").h1 == "Sign in"
    row = _session_row(db)
    assert row.ended_at is not None and row.end_reason == "sign_out"
    kinds = db.scalars(select(CaseEvent.kind).where(CaseEvent.stream.like("borrower:%")))
    assert kinds.count("borrower.signed_out") == 1
