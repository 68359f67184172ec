"""Someone helping a borrower: granted, signed in by an emailed code, sees and acts only as far as
the grant reaches, recorded at every step, and refused once the borrower takes access back."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from portal.cases.models import CaseEvent
from portal.contact.models import ContactHold
from portal.identity.helpers import HelperGrant
from portal.plans.models import PaymentPlan

OWNER = ("DEMO-1001", "1985-04-12")


def _until(days: int = 30) -> str:
    return (datetime.now(UTC).date() + timedelta(days=days)).isoformat()


def grant(person, *, email="sam@advice.example", kind="adviser", access="act", account="",
          until=None):
    page = person.get("/helpers/")
    return person.submit(page, {"name": "Sam Adviser", "email": email, "kind": kind,
                                "access": access, "account": account,
                                "until": until or _until()}, action="/helpers/")


def helper_signs_in(helper, email="sam@advice.example"):
    page = helper.submit(helper.get("/helper/sign-in"), {"email": email})
    assert page.h1 == "Enter your code", page.text[:300]
    return helper.submit(page, {"code": helper.latest_code()})


def _events(db, kind):
    return db.scalars(select(CaseEvent).where(CaseEvent.kind == kind).order_by(CaseEvent.id))


def test_a_helper_with_act_access_proposes_a_plan_recorded_as_theirs(person, make_person, demo,
                                                                     db):
    person.sign_in(*OWNER)
    page = grant(person)
    assert "Sam Adviser can now sign in to help you" in page.text
    granted = _events(db, "helper.granted")
    assert len(granted) == 1 and granted[0].actor_type == "borrower"
    assert granted[0].data["access"] == "act" and granted[0].data["account"] is None
    assert "sam@" not in str(granted[0].data)  # no personal data in the record

    helper = make_person()
    page = helper_signs_in(helper)
    assert page.h1 == "Whom you help"
    assert "You are helping Alex Rivera" in page.text
    signed = _events(db, "helper.signed_in")
    assert [(e.actor_type, e.data["grant"]) for e in signed] == [
        ("helper", granted[0].data["grant"])]

    accounts = helper.get("/accounts/")
    assert "NWB-1001" in accounts.text and "LUM-1001" in accounts.text
    plan_page = helper.get("/accounts/LUM-1001/plan")
    assert plan_page.status == 200
    done = helper.submit(plan_page, {"kind": "installments", "months": "12",
                                     "action": "propose"}, action="/plan")
    assert done.h1.startswith("Your plan"), done.text[:500]
    assert db.scalar(select(PaymentPlan)) is not None
    proposed = _events(db, "plan.proposed")
    assert proposed[-1].actor_type == "helper"

    history = person.get("/accounts/LUM-1001").text
    assert re.search(r"Sam Adviser, helping you, proposed plan P-\d+", history), history


def test_see_only_helper_reads_but_cannot_act(person, make_person, demo, db):
    person.sign_in(*OWNER)
    grant(person, access="see")
    helper = make_person()
    helper_signs_in(helper)
    assert helper.get("/accounts/NWB-1001").status == 200
    page = helper.get("/accounts/LUM-1001/plan")
    response = helper.client.post("/accounts/LUM-1001/plan", data={
        "csrf_token": page.soup.find("input", {"name": "csrf_token"})["value"],
        "kind": "installments", "months": "12", "action": "propose"})
    assert response.status_code == 403
    assert db.scalar(select(PaymentPlan)) is None
    # The borrower's own pages stay theirs: preferences, data, helpers.
    for path in ("/contact-preferences/", "/helpers/", "/your-data/"):
        assert helper.client.get(path).status_code == 403, path


def test_one_account_grant_hides_the_other(person, make_person, demo, db):
    person.sign_in(*OWNER)
    grant(person, account="NWB-1001")
    helper = make_person()
    helper_signs_in(helper)
    assert helper.client.get("/accounts/NWB-1001").status_code == 200
    assert helper.client.get("/accounts/LUM-1001").status_code == 404
    assert helper.client.get("/accounts/LUM-1001/pay").status_code == 404


def test_a_helper_of_one_borrower_sees_nothing_of_another(person, make_person, demo, db):
    person.sign_in(*OWNER)
    grant(person)
    helper = make_person()
    helper_signs_in(helper)
    assert helper.client.get("/accounts/NWB-1002").status_code == 404
    assert "López" not in helper.get("/accounts/").text


def test_revoking_ends_the_helpers_access_at_once(person, make_person, demo, db):
    person.sign_in(*OWNER)
    grant(person)
    helper = make_person()
    helper_signs_in(helper)
    page = person.get("/helpers/")
    grant_id = db.scalar(select(HelperGrant.id))
    page = person.submit(page, action=f"/helpers/{grant_id}/revoke")
    assert "Their access has ended." in page.text
    assert _events(db, "helper.revoked")[0].actor_type == "borrower"
    response = helper.client.get("/accounts/NWB-1001")
    assert response.status_code in (302, 303) and "/sign-in" in response.headers["Location"]
    # and a new code is not sent to an email without live access
    again = helper.submit(helper.get("/helper/sign-in"), {"email": "sam@advice.example"})
    assert again.h1 == "Enter your code"
    refused = helper.submit(again, {"code": "123456"})
    assert refused.status == 422


def test_an_attorneys_access_starts_the_attorney_hold(person, demo, db):
    person.sign_in(*OWNER)
    grant(person, kind="attorney", email="jo@law.example")
    kinds = [e.kind for e in db.scalars(select(CaseEvent).order_by(CaseEvent.id))]
    assert "contact.attorney_reported" in kinds
    holds = db.scalars(select(ContactHold.rule).where(ContactHold.ended_at.is_(None)))
    assert "us.attorney-represented" in holds


def test_bad_grants_are_refused_with_nothing_written(person, demo, db):
    person.sign_in(*OWNER)
    page = grant(person, email="not-an-email")
    assert page.status == 422
    past = grant(person, until=(datetime.now(UTC).date() - timedelta(days=1)).isoformat())
    assert past.status == 422 and "the last day of their access" in past.text
    assert db.scalar(select(HelperGrant)) is None
