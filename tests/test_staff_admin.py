"""An admin administers their own agency's staff: invitations by one-time link, MFA resets, roles,
deactivation, and a creditor's plan policy on a page; another agency's staff are not found."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta

import pyotp
from sqlalchemy import select, text, update

from portal.identity.audit import StaffAuditEntry
from portal.identity.enrolment import StaffLink
from portal.identity.models import StaffUser

NEW = "new.colleague@demo.test"
PASSWORD = "a long enough passphrase"


def _link(person) -> str:
    """The newest one-time link in /dev/messages, as a path on this site."""
    body = person.get("/dev/messages").soup.select_one(".message__body").get_text()
    return re.search(r"/staff/welcome/[A-Za-z0-9_-]+", body).group(0)


def _invite(person, staff_sign_in, role="agent", email=NEW):
    staff_sign_in(person, "admin@demo.test")
    page = person.get("/staff/admin/people")
    return person.submit(page, {"name": "Nia New", "email": email, "role": role},
                         action="/staff/admin/people")


def _enrol(person, path: str, password=PASSWORD, confirm=PASSWORD):
    page = person.get(path)
    secret = page.soup.select_one("#totp-secret").get_text()
    code = pyotp.TOTP(secret).now()
    return page, secret, person.submit(page, {"password": password, "confirm": confirm,
                                              "code": code})


def _sign_in(person, email, password, secret):
    page = person.submit(person.get("/staff/sign-in"), {"email": email, "password": password})
    if page.h1 != "Two-step verification":
        return page
    # The next time step's code: the one used to enrol cannot be used again (no replays).
    later = datetime.now(UTC) + timedelta(seconds=30)
    return person.submit(page, {"code": pyotp.TOTP(secret).at(later)})


def _id(db, email) -> int:
    return db.scalar(select(StaffUser.id).where(StaffUser.email == email))


def _kinds(db, subject_id) -> list[str]:
    return db.scalars(select(StaffAuditEntry.kind).where(StaffAuditEntry.subject_id == subject_id)
                      .order_by(StaffAuditEntry.id))


def test_an_invited_colleague_sets_a_password_and_totp_then_signs_in(person, make_person,
                                                                      staff_sign_in, db):
    page = _invite(person, staff_sign_in)
    assert "Invitation sent to new.colleague@demo.test" in page.text
    assert "Invited, not yet set up" in page.text
    path = _link(person)
    token = path.rsplit("/", 1)[1]
    # Only the token's hash is kept.
    link = db.scalar(select(StaffLink))
    assert link.token_digest == hashlib.sha256(token.encode()).digest()
    assert link.expires_at - link.created_at == timedelta(hours=72)

    colleague = make_person()
    page, secret, done = _enrol(colleague, path)
    assert "otpauth://totp/" in page.soup.select_one("#totp-uri")["href"]
    assert page.soup.select_one("figure.qr svg") is not None  # a QR code, no JavaScript
    assert done.h1 == "Staff sign-in" and "All set" in done.text

    assert _sign_in(colleague, NEW, PASSWORD, secret).h1 == "Accounts"
    role, agency = db.execute(text(
        "SELECT s.role, a.name FROM staff_user s JOIN agency a ON a.id = s.agency_id "
        "WHERE s.email = :email"), {"email": NEW}).one()
    assert (role, agency) == ("agent", "Demo Collections")
    assert _kinds(db, _id(db, NEW)) == ["invited", "enrolled", "signed_in"]

    again = colleague.get(path)
    assert again.status == 410 and "already been used" in again.text


def test_a_link_refuses_a_weak_password_and_a_wrong_code_and_still_works(person, make_person,
                                                                          staff_sign_in, db):
    _invite(person, staff_sign_in)
    path = _link(person)
    colleague = make_person()
    page = colleague.get(path)
    weak = colleague.submit(page, {"password": "short", "confirm": "short", "code": "123456"})
    assert weak.status == 422 and "at least 12 characters" in weak.text
    wrong = colleague.submit(page, {"password": PASSWORD, "confirm": PASSWORD,
                                    "code": "000000"})
    assert wrong.status == 422 and "That code is not right" in wrong.text
    assert db.scalar(select(StaffUser.password_hash).where(StaffUser.email == NEW)) == "!invited"
    assert _enrol(colleague, path)[2].h1 == "Staff sign-in"


def test_an_expired_link_says_so(person, staff_sign_in, db):
    _invite(person, staff_sign_in)
    path = _link(person)
    db.execute(update(StaffLink).values(expires_at=datetime.now(UTC) - timedelta(minutes=1)))
    page = person.get(path)
    assert page.status == 410 and "This link has expired" in page.text
    assert person.get("/staff/welcome/not-a-token").status == 404


def test_re_inviting_is_refused_and_a_new_link_replaces_the_old(person, staff_sign_in, db):
    _invite(person, staff_sign_in)
    first = _link(person)
    page = person.submit(person.get("/staff/admin/people"),
                         {"name": "Nia New", "email": NEW.upper(), "role": "agent"},
                         action="/staff/admin/people")
    assert page.status == 409 and "already invited" in page.text
    page = person.submit(person.get("/staff/admin/people"),
                         {"name": "Sam", "email": "agent@demo.test", "role": "agent"},
                         action="/staff/admin/people")
    assert page.status == 409 and "already has an account" in page.text

    user_id = _id(db, NEW)
    page = person.submit(person.get(f"/staff/admin/people/{user_id}"),
                         action=f"/staff/admin/people/{user_id}/link")
    assert "A new link is on its way" in page.text
    second = _link(person)
    assert second != first
    assert person.get(first).status == 410 and "no longer works" in person.get(first).text
    assert person.get(second).status == 200


def test_a_lender_invitation_names_one_of_the_agencys_creditors(person, staff_sign_in, db):
    page = _invite(person, staff_sign_in, role="lender", email="new.lender@demo.test")
    assert page.status == 422 and "belongs to one of your creditors" in page.text
    page = person.submit(person.get("/staff/admin/people"),
                         {"name": "Lou", "email": "new.lender@demo.test", "role": "lender",
                          "creditor": "BRC"}, action="/staff/admin/people")  # Harbor's
    assert page.status == 422
    page = person.submit(person.get("/staff/admin/people"),
                         {"name": "Lou", "email": "new.lender@demo.test", "role": "lender",
                          "creditor": "NWB"}, action="/staff/admin/people")
    assert "Invitation sent" in page.text
    code = db.scalar(text("SELECT c.code FROM staff_user s JOIN creditor c ON c.id = "
                          "s.creditor_id WHERE s.email = 'new.lender@demo.test'"))
    assert code == "NWB"


def test_deactivating_ends_the_colleagues_sessions_at_once(person, make_person, staff_sign_in,
                                                          db, demo):
    agent = make_person()
    assert staff_sign_in(agent, "agent@demo.test").h1 == "Accounts"
    staff_sign_in(person, "admin@demo.test")
    agent_id = _id(db, "agent@demo.test")
    page = person.submit(person.get(f"/staff/admin/people/{agent_id}"), {"active-active": "off"},
                         action=f"/staff/admin/people/{agent_id}/active")
    assert "is deactivated" in page.text

    after = agent.get("/staff/accounts")
    assert after.h1 == "Staff sign-in"  # their very next request
    refused = agent.submit(agent.get("/staff/sign-in"),
                           {"email": "agent@demo.test", "password": "demo-password-1"})
    assert refused.status == 422
    assert _kinds(db, agent_id)[-3:] == ["signed_in", "deactivated", "sign_in_failed"]

    person.submit(person.get(f"/staff/admin/people/{agent_id}"), {"active-active": "on"},
                  action=f"/staff/admin/people/{agent_id}/active")
    secret = demo["agent@demo.test"]["totp_secret"]
    assert _sign_in(make_person(), "agent@demo.test", "demo-password-1", secret).h1 == "Accounts"


def test_an_admin_cannot_deactivate_or_demote_themselves(person, staff_sign_in, db):
    staff_sign_in(person, "admin@demo.test")
    me = _id(db, "admin@demo.test")
    page = person.submit(person.get(f"/staff/admin/people/{me}"), {"active-active": "off"},
                         action=f"/staff/admin/people/{me}/active")
    assert "You cannot deactivate yourself" in page.text
    page = person.submit(person.get(f"/staff/admin/people/{me}"), {"role-role": "agent"},
                         action=f"/staff/admin/people/{me}/role")
    assert "You cannot remove your own admin role" in page.text
    user = db.scalar(select(StaffUser).where(StaffUser.id == me))
    assert user.role == "admin" and user.active
    assert _kinds(db, me) == ["signed_in"]  # refusals change nothing


def test_changing_a_role_is_recorded_with_before_and_after(person, staff_sign_in, db):
    staff_sign_in(person, "admin@demo.test")
    agent_id = _id(db, "agent@demo.test")
    page = person.submit(person.get(f"/staff/admin/people/{agent_id}"),
                         {"role-role": "supervisor"}, action=f"/staff/admin/people/{agent_id}/role")
    assert "role is changed" in page.text
    entry = db.scalar(select(StaffAuditEntry).where(StaffAuditEntry.kind == "role_changed"))
    assert entry.detail == {"before": "agent", "after": "supervisor"}
    assert entry.actor_id == _id(db, "admin@demo.test") and entry.subject_id == agent_id


def test_resetting_mfa_stops_the_old_codes_and_a_link_enrols_new_ones(person, make_person,
                                                                      staff_sign_in, db, demo):
    staff_sign_in(person, "admin@demo.test")
    agent_id = _id(db, "agent@demo.test")
    page = person.get(f"/staff/admin/people/{agent_id}")
    refused = person.submit(page, action=f"/staff/admin/people/{agent_id}/mfa-reset")
    assert "Confirm that you checked who is asking" in refused.text
    page = person.submit(page, {"mfa-confirm": "y"},
                         action=f"/staff/admin/people/{agent_id}/mfa-reset")
    assert "Two-step verification reset" in page.text
    path = _link(person)

    agent = make_person()
    old = demo["agent@demo.test"]["totp_secret"]
    assert _sign_in(agent, "agent@demo.test", "demo-password-1", old).h1 == \
        "Two-step verification"  # the old authenticator's code is refused
    wrong = agent.submit(agent.get(path), {"password": "not my password", "code": "000000"})
    assert wrong.status == 422 and "not your current password" in wrong.text
    _page, secret, done = _enrol(agent, path, password="demo-password-1", confirm="")
    assert done.h1 == "Staff sign-in"
    assert _sign_in(make_person(), "agent@demo.test", "demo-password-1", secret).h1 == "Accounts"
    assert _kinds(db, agent_id) == ["mfa_reset", "sign_in_failed", "mfa_enrolled", "signed_in"]


def test_another_agencys_admin_gets_404_and_changes_nothing(person, staff_sign_in, db):
    agent_id = _id(db, "agent@demo.test")
    staff_sign_in(person, "admin@harbor.test")
    assert person.get(f"/staff/admin/people/{agent_id}").status == 404
    token = person.csrf_token()
    for action, data in (("active", {"active-active": "off"}), ("role", {"role-role": "admin"}),
                         ("mfa-reset", {"mfa-confirm": "y"}), ("link", {})):
        response = person.client.post(f"/staff/admin/people/{agent_id}/{action}",
                                      data={"csrf_token": token, **data})
        assert response.status_code == 404, action
    listing = person.get("/staff/admin/people")
    assert "agent@demo.test" not in listing.text and "agent@harbor.test" in listing.text
    user = db.scalar(select(StaffUser).where(StaffUser.id == agent_id))
    assert user.active and user.role == "agent"
    assert _kinds(db, agent_id) == []


def test_a_supervisor_edits_a_creditors_plan_policy_and_the_change_is_audited(
        person, staff_sign_in, db):
    from portal.plans.service import policy_of

    staff_sign_in(person, "supervisor@demo.test")
    page = person.get("/staff/admin/plan-policy?creditor=NWB")
    assert page.status == 200 and "Northwind Bank" in page.text
    bad = person.submit(page, {"settlement_floors": "0:80,soon", "max_months": "0"},
                        action="/staff/admin/plan-policy?creditor=NWB")
    assert bad.status == 422 and "DAYS:PERCENT" in bad.text
    saved = person.submit(page, {"max_months": "36", "settlement_floors": "0:75,365:60"},
                          action="/staff/admin/plan-policy?creditor=NWB")
    assert "The plan policy is saved" in saved.text

    nwb = db.scalar(text("SELECT id FROM creditor WHERE code = 'NWB'"))
    policy = db.run(policy_of, nwb)
    assert policy.max_months == 36 and [(f.min_age_days, f.percent)
                                        for f in policy.settlement_floors] == [(0, 75), (365, 60)]
    entry = db.scalar(select(StaffAuditEntry).where(StaffAuditEntry.kind ==
                                                    "plan_policy_changed"))
    assert entry.actor_id == _id(db, "supervisor@demo.test")
    assert entry.detail["creditor"] == "NWB"
    assert entry.detail["before"]["max_months"] == 24 and entry.detail["after"]["max_months"] == 36
    assert "min_monthly" not in entry.detail["after"]  # only what changed


def test_another_agencys_creditor_policy_is_not_found(person, staff_sign_in):
    staff_sign_in(person, "supervisor@harbor.test")
    assert person.get("/staff/admin/plan-policy?creditor=NWB").status == 404
    token = person.csrf_token()
    response = person.client.post("/staff/admin/plan-policy?creditor=NWB",
                                  data={"csrf_token": token, "max_months": "1"})
    assert response.status_code == 404
