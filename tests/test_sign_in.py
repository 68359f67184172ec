"""A borrower signs in with reference + date of birth + a one-time code, and signs out."""

from __future__ import annotations

from sqlalchemy import select

from portal.cases.models import CaseEvent


def test_borrower_signs_in_and_sees_accounts(person, demo, db):
    page = person.sign_in("DEMO-1001", "1985-04-12")

    assert page.h1 == "Your accounts"
    assert "Northwind Bank" in page.text and "$2,480.19" in page.text
    assert "Lumen Lending" in page.text and "$830.00" in page.text
    kinds = db.scalars(select(CaseEvent.kind).where(CaseEvent.stream.like("borrower:%")))
    assert {"borrower.sign_in_code_sent", "borrower.signed_in"} <= set(kinds)


def test_sign_out_ends_the_session(person, demo):
    person.sign_in("DEMO-1001", "1985-04-12")
    page = person.sign_out()

    assert page.h1 == "Sign in"
    assert "You have signed out." in page.text
    assert person.get("/accounts/").h1 == "Sign in"
