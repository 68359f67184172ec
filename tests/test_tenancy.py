"""Agencies share a deployment: each agency's staff see and act on their own agency's accounts
only, and another agency's case, dispute or plan is not found (404), as if it did not exist."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal.cases.models import CaseEvent
from portal.disputes.models import Dispute

DEMO_AGENT = "agent@demo.test"
HARBOR_AGENT = "agent@harbor.test"
HARDSHIP = {"kind": "hardship", "months": "", "hardship_reason": "job_loss",
            "pause_days": "30", "monthly": "25.00"}


def _links(page) -> list[str]:
    return sorted(a.get_text() for a in page.soup.select("tbody td:first-child a"))


@pytest.fixture
def both(make_dispute, make_plan):
    """A dispute and a plan waiting for a person on one account of each agency."""
    return {
        "demo": (make_dispute("NWB-1001").number, make_plan("NWB-1001", **HARDSHIP).number),
        "harbor": (make_dispute("BRC-4001").number, make_plan("BRC-4001", **HARDSHIP).number),
    }


@pytest.mark.parametrize(("email", "mine", "theirs"), [
    (DEMO_AGENT, "demo", "harbor"),
    (HARBOR_AGENT, "harbor", "demo"),
])
def test_each_agencys_lists_hold_its_own_rows_only(email, mine, theirs, both, make_person,
                                                   staff_sign_in):
    staff = make_person()
    accounts = staff_sign_in(staff, email)
    if mine == "harbor":
        assert _links(accounts) == ["BRC-4001"]
    else:
        assert "BRC-4001" not in accounts.text and "NWB-1001" in _links(accounts)

    disputes, plans = staff.get("/staff/disputes"), staff.get("/staff/plans")
    assert both[mine][0] in disputes.text and both[theirs][0] not in disputes.text
    assert both[mine][1] in plans.text and both[theirs][1] not in plans.text
    assert ("Northwind" in disputes.text) == (mine == "demo")
    assert ("Birchwood" in plans.text) == (mine == "harbor")


def test_another_agencys_objects_are_not_found_and_nothing_is_written(both, make_person,
                                                                      staff_sign_in, db):
    staff = make_person()
    staff_sign_in(staff, HARBOR_AGENT)
    dispute, plan = both["demo"]
    events_before = db.scalar(select(func.count()).select_from(CaseEvent))

    for path in ("/staff/accounts/NWB-1001", f"/staff/disputes/{dispute}",
                 f"/staff/plans/{plan}"):
        page = staff.get(path)
        assert page.status == 404 and "Alex" not in page.text, path
    token = staff.csrf_token()
    for path, form in [(f"/staff/disputes/{dispute}/review", {}),
                       (f"/staff/disputes/{dispute}/resolve",
                        {"outcome": "upheld", "action": "close"}),
                       (f"/staff/plans/{plan}/decide", {"outcome": "approved"})]:
        answer = staff.client.post(path, data={"csrf_token": token, **form})
        assert answer.status_code == 404, path

    # Not opened, not reviewed, not decided: no staff view recorded, nothing changed.
    assert db.scalar(select(func.count()).select_from(CaseEvent)) == events_before
    number = int(dispute.split("-")[1])
    assert db.scalar(select(Dispute.status).where(Dispute.id == number)) == "received"

    # Its own agency's agent opens the same dispute as before.
    own = make_person()
    staff_sign_in(own, DEMO_AGENT)
    assert own.get(f"/staff/disputes/{dispute}").status == 200


def test_staff_users_belong_to_their_agency(db, demo):
    from portal.agency.models import Agency
    from portal.identity.models import StaffUser

    rows = db.execute(select(StaffUser.email, Agency.name)
                      .join(Agency, Agency.id == StaffUser.agency_id)).all()
    agencies = dict(rows)
    assert agencies["agent@demo.test"] == agencies["lender@northwind.test"] == "Demo Collections"
    assert agencies["agent@harbor.test"] == "Harbor Recovery"
    # Every staff user has one: the column is not nullable.
    assert StaffUser.__table__.c.agency_id.nullable is False


def test_staff_users_are_added_to_an_agency_from_the_command_line(app, db, demo):
    from portal.identity.models import StaffUser

    runner = app.test_cli_runner()

    def add(*args):
        return runner.invoke(args=["agency", "add-staff", *args,
                                   "--password", "long-enough-password"])

    assert "--agency" in add("new@harbor.test", "--name", "N", "--role", "agent").output
    refused = {
        "an unknown agency": add("new@harbor.test", "--agency", "Nobody", "--name", "N",
                                 "--role", "agent"),
        "another agency's creditor": add("lee@harbor.test", "--agency", "Harbor Recovery",
                                         "--name", "L", "--role", "lender", "--creditor", "NWB"),
        "a lender without a creditor": add("lee@harbor.test", "--agency", "Harbor Recovery",
                                           "--name", "L", "--role", "lender"),
        "an email in use": add("agent@demo.test", "--agency", "Harbor Recovery", "--name", "N",
                               "--role", "agent"),
    }
    for why, result in refused.items():
        assert result.exit_code != 0, why
    assert db.scalar(select(StaffUser).where(StaffUser.email.in_(
        ["new@harbor.test", "lee@harbor.test"]))) is None

    added = add("lee@birchwood.test", "--agency", "Harbor Recovery", "--name", "Lee",
                "--role", "lender", "--creditor", "BRC")
    assert added.exit_code == 0, added.output
    from portal.accounts.models import Creditor
    from portal.agency.models import Agency

    agency, creditor, secret = db.run(lambda: db.database.session.execute(
        select(Agency.name, Creditor.code, StaffUser.totp_secret)
        .join(Agency, Agency.id == StaffUser.agency_id)
        .join(Creditor, Creditor.id == StaffUser.creditor_id)
        .where(StaffUser.email == "lee@birchwood.test")).one())
    assert (agency, creditor) == ("Harbor Recovery", "BRC")
    assert secret in added.output and "long-enough-password" not in added.output
