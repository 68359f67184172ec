"""The lender's portfolio: only their creditors' accounts, no contact details or evidence, each
opening of an account recorded; lenders land on it and staff cannot open it."""

from __future__ import annotations

from sqlalchemy import select

from portal.cases.models import CaseEvent
from portal.identity.models import StaffUser
from portal.lenders import terms


def test_a_lender_lands_on_their_portfolio_and_sees_only_their_creditors_accounts(
        person, staff_sign_in):
    page = staff_sign_in(person, "lender@northwind.test")
    assert page.h1 == "Portfolio"
    assert "NWB-1001" in page.text and "NWB-1002" in page.text
    assert "LUM-1001" not in page.text and "Lumen" not in page.text
    assert "Rivera" not in page.text  # the list names no borrower
    assert person.get("/lender/accounts/LUM-1001").status == 404
    assert person.get("/staff/accounts").status == 403


def test_opening_an_account_shows_no_contact_details_and_is_recorded(db, person, staff_sign_in):
    staff_sign_in(person, "lender@northwind.test")
    viewed = select(CaseEvent).where(CaseEvent.kind == "lender.viewed_account")
    before = len(db.scalars(viewed))

    page = person.get("/lender/accounts/NWB-1001")

    assert page.status == 200 and "Alex Rivera" in page.text and "Northwind Bank" in page.text
    for contact in ("alex@example.com", "0147", "350 W 31st", "10001", "4321", "1985"):
        assert contact not in page.text
    events = db.scalars(viewed)
    assert len(events) == before + 1
    lender = db.scalar(select(StaffUser).where(StaffUser.email == "lender@northwind.test"))
    assert (events[-1].actor_type, events[-1].actor_id) == ("staff", str(lender.id))


def test_a_lender_group_sees_each_of_its_creditors(db, person, staff_sign_in):
    lender = db.scalar(select(StaffUser.id).where(StaffUser.email == "lender@northwind.test"))
    db.run(terms.link_creditor, lender, "LUM")
    staff_sign_in(person, "lender@northwind.test")
    page = person.get("/lender/")
    assert "NWB-1001" in page.text and "LUM-1001" in page.text and "JRF-2001" not in page.text
    assert person.get("/lender/accounts/LUM-1001").status == 200


def test_a_lender_group_never_reaches_another_agencys_creditor(db):
    import pytest

    from portal.operations import Refused

    lender = db.scalar(select(StaffUser.id).where(StaffUser.email == "lender@northwind.test"))
    with pytest.raises(Refused, match="did not place"):
        db.run(terms.link_creditor, lender, "BRC")


def test_staff_of_the_agency_cannot_open_the_lenders_portal(person, staff_sign_in):
    staff_sign_in(person, "admin@demo.test")
    assert person.get("/lender/").status == 403
