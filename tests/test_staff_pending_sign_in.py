"""The half-done staff sign-in (password checked, code not yet given) lasts minutes and dies
with a password change (issue 12): it used to live in the 31-day session cookie."""

from __future__ import annotations

import pyotp
from sqlalchemy import select

from portal.identity.models import StaffUser
from portal.identity.service import PENDING_STAFF, passwords


def _password_step(person) -> None:
    page = person.submit(person.get("/staff/sign-in"),
                         {"email": "agent@demo.test", "password": "demo-password-1"})
    assert page.h1 == "Two-step verification"


def _age(person, seconds: int) -> None:
    with person.client.session_transaction() as session:
        pending = dict(session["pending_staff"])
        pending["at"] -= seconds
        session["pending_staff"] = pending


def test_a_fresh_pending_sign_in_goes_on_to_the_code(person, demo):
    _password_step(person)
    _age(person, int(PENDING_STAFF.total_seconds()) - 30)
    page = person.submit(person.get("/staff/sign-in/code"),
                         {"code": pyotp.TOTP(demo["agent@demo.test"]["totp_secret"]).now()})
    assert page.h1 != "Two-step verification" and page.status == 200


def test_a_pending_sign_in_expires_in_minutes(person, demo):
    _password_step(person)
    _age(person, int(PENDING_STAFF.total_seconds()) + 1)
    page = person.get("/staff/sign-in/code")
    assert page.url == "/staff/sign-in" and page.h1 != "Two-step verification"
    with person.client.session_transaction() as session:
        assert "pending_staff" not in session


def test_a_password_change_ends_a_pending_sign_in(person, demo, db):
    _password_step(person)

    def change():
        user = db.database.session.scalar(
            select(StaffUser).where(StaffUser.email == "agent@demo.test"))
        user.password_hash = passwords.hash("a-new-password-2")

    db.run(change)
    page = person.get("/staff/sign-in/code")
    assert page.url == "/staff/sign-in" and page.h1 != "Two-step verification"


def test_an_old_style_pending_state_is_refused(person, demo):
    _password_step(person)
    with person.client.session_transaction() as session:
        session["pending_staff"] = session["pending_staff"]["id"]  # a bare id, as before
    assert person.get("/staff/sign-in/code").url == "/staff/sign-in"
