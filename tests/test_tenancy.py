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

    # The plans are hardship requests: their own queue (issue 15), not the other plans'.
    disputes, plans = staff.get("/staff/disputes"), staff.get("/staff/queues/hardship")
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


def test_the_demo_seed_names_each_staff_users_agency(app, db, demo):
    result = app.test_cli_runner().invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    lines = {line.split()[0]: line for line in result.output.splitlines()
             if line.startswith("  ")}
    assert "Demo Collections" in lines["agent@demo.test"]
    assert "Harbor Recovery" in lines["agent@harbor.test"]


# --- the migration: existing rows go to their agency ----------------------------------------------

STAFF_ROW = ("INSERT INTO staff_user (email, name, password_hash, totp_secret, last_totp_step, "
             "role, creditor_id, active) VALUES (:email, 'N', 'x', '\\x00', 0, :role, :creditor,"
             " true)")


@pytest.fixture
def at_0012(server_url, worker):
    """An app whose fresh database stands at the revision before tenancy."""
    from flask_migrate import upgrade

    from tests.conftest import ROOT, drop_database, fresh_database, make_app

    name = f"portal_tenancy_{worker}"
    application = make_app(fresh_database(server_url, name))
    with application.app_context():
        upgrade(directory=str(ROOT / "migrations"), revision="0012")

    def to_tenancy():
        with application.app_context():
            upgrade(directory=str(ROOT / "migrations"), revision="0013_tenancy")

    yield application, to_tenancy
    with application.app_context():
        from portal.extensions import db as database

        database.engine.dispose()
    drop_database(server_url, name)


def _sql(app, statement, **params):
    from sqlalchemy import text

    from portal.extensions import db as database

    with app.app_context():
        result = database.session.execute(text(statement), params)
        rows = result.all() if result.returns_rows else None
        database.session.commit()
        return rows


def test_the_migration_gives_existing_rows_their_agency(at_0012):
    app, to_tenancy = at_0012
    _sql(app, "INSERT INTO agency (id, name) VALUES (1, 'First'), (2, 'Second')")
    _sql(app, "INSERT INTO creditor (id, code, name, country, agency_id) VALUES "
              "(1, 'C1', 'C one', 'US', 2)")
    _sql(app, "INSERT INTO borrower (id, reference, given_name, family_name, display_name, "
              "date_of_birth, date_of_birth_digest, preferred_language) VALUES "
              "(1, 'B-1', 'G', 'F', 'G F', '\\x00', '\\x00', 'en')")
    _sql(app, "INSERT INTO account (id, reference, borrower_id, creditor_id, product, currency, "
              "original_account_number, original_account_number_digest, status, "
              "itemization_date, placed_at) VALUES (1, 'C1-1', 1, 1, 'Loan', 'USD', '\\x00', "
              "'\\x00', 'open', '2026-01-01', now())")
    _sql(app, STAFF_ROW, email="agent@x.test", role="agent", creditor=None)
    _sql(app, STAFF_ROW, email="lender@x.test", role="lender", creditor=1)
    _sql(app, "INSERT INTO webhook_endpoint (url, secret, topics, active) VALUES "
              "('https://x.test/hooks', '\\x00', '{dispute.opened}', true)")
    _sql(app, "INSERT INTO outbox_message (id, topic, account_ref, payload, created_at) VALUES "
              "(gen_random_uuid(), 'dispute.opened', 'C1-1', '{}', now()), "
              "(gen_random_uuid(), 'plan.accepted', NULL, '{}', now())")
    _sql(app, "INSERT INTO webhook_delivery (message_id, endpoint_id, status, attempts) "
              "SELECT m.id, e.id, 'pending', 0 FROM outbox_message m, webhook_endpoint e")

    to_tenancy()

    staff = dict(_sql(app, "SELECT email, agency_id FROM staff_user"))
    assert staff == {"agent@x.test": 1, "lender@x.test": 2}  # a lender: its creditor's agency
    assert _sql(app, "SELECT agency_id FROM webhook_endpoint") == [(1,)]
    messages = dict(_sql(app, "SELECT topic, agency_id FROM outbox_message"))
    assert messages == {"dispute.opened": 2, "plan.accepted": 1}  # the account's agency
    # Owed before, now to another agency's endpoint: not sent.
    owed = dict(_sql(app, "SELECT m.topic, d.status FROM webhook_delivery d "
                          "JOIN outbox_message m ON m.id = d.message_id"))
    assert owed == {"dispute.opened": "failed", "plan.accepted": "pending"}
    nullable = dict(_sql(app, "SELECT table_name, is_nullable FROM information_schema.columns "
                              "WHERE column_name = 'agency_id' AND table_name IN "
                              "('staff_user', 'webhook_endpoint')"))
    assert nullable == {"staff_user": "NO", "webhook_endpoint": "NO"}


def test_the_migration_makes_an_agency_for_staff_when_there_is_none(at_0012):
    app, to_tenancy = at_0012
    _sql(app, STAFF_ROW, email="admin@x.test", role="admin", creditor=None)

    to_tenancy()

    assert _sql(app, "SELECT s.email, a.name FROM staff_user s JOIN agency a "
                     "ON a.id = s.agency_id") == [("admin@x.test", "Default agency")]
