"""The staff audit log: every sign-in, failure, sign-out and admin action, append-only, with the
address sealed; compliance and admins read it filtered and paged and export it as safe CSV."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from portal.identity.audit import StaffAuditEntry
from portal.identity.models import StaffUser

TYPED = "an-attempted-password-42"


def _entries(db, email):
    user_id = db.scalar(select(StaffUser.id).where(StaffUser.email == email))
    return db.scalars(select(StaffAuditEntry).where(StaffAuditEntry.subject_id == user_id)
                      .order_by(StaffAuditEntry.id))


def test_sign_ins_failures_and_sign_outs_are_recorded_without_the_password(
        person, staff_sign_in, db, client_address):
    failed = person.submit(person.get("/staff/sign-in"),
                           {"email": "agent@demo.test", "password": TYPED})
    assert failed.status == 422
    page = person.submit(person.get("/staff/sign-in"),
                         {"email": "agent@demo.test", "password": "demo-password-1"})
    person.submit(page, {"code": "000000"})
    staff_sign_in(person, "agent@demo.test")
    person.submit(person.get("/staff/accounts"), action="/sign-out")

    entries = _entries(db, "agent@demo.test")
    assert [(e.kind, e.detail) for e in entries] == [
        ("sign_in_failed", {"step": "password"}), ("sign_in_failed", {"step": "code"}),
        ("signed_in", {}), ("signed_out", {})]
    assert all(e.actor_id == e.subject_id for e in entries)
    # Nothing typed is kept; the address is kept sealed, not in the clear.
    dump = db.scalar(text("SELECT string_agg(t::text, ' ') FROM staff_audit t"))
    assert TYPED not in dump
    sealed = db.scalars(text("SELECT address FROM staff_audit_address"))
    assert sealed and all(client_address.encode() not in bytes(raw) for raw in sealed)


@pytest.mark.parametrize("statement", ["UPDATE staff_audit SET kind = 'x'",
                                       "DELETE FROM staff_audit",
                                       "TRUNCATE staff_audit CASCADE"])
def test_the_log_is_append_only(db, person, staff_sign_in, statement):
    staff_sign_in(person, "agent@demo.test")
    with pytest.raises(DBAPIError, match="append-only"):
        db.execute(text(statement))


def test_compliance_reads_the_log_filtered_and_paged(person, make_person, staff_sign_in, db):
    for _ in range(3):
        other = make_person()
        other.submit(other.get("/staff/sign-in"),
                     {"email": "agent@demo.test", "password": "wrong password"})
    staff_sign_in(person, "compliance@demo.test")
    agent_id = db.scalar(select(StaffUser.id).where(StaffUser.email == "agent@demo.test"))

    page = person.get(f"/staff/admin/audit?person={agent_id}&kind=sign_in_failed")
    assert page.status == 200 and page.h1 == "Staff audit log"
    rows = page.soup.select("tbody tr")
    assert len(rows) == 3 and all("Sam Agent" in r.get_text() for r in rows)
    assert "step: password" in rows[0].get_text()
    # The address (make_person's 10.99.x.y) is shown shortened, never whole.
    shown = [r.select("td")[4].get_text() for r in rows]
    assert all(re.fullmatch(r"10\.99\.\d+\.•", a) for a in shown), shown

    everyone = person.get("/staff/admin/audit?kind=signed_in")
    assert [r.select("td")[2].get_text() for r in everyone.soup.select("tbody tr")] == [
        "Chris Compliance"]
    future = person.get("/staff/admin/audit?since=2999-01-01")
    assert "Nothing recorded that matches." in future.text
    garbage = person.get("/staff/admin/audit?since=yesterday&kind=drop+table&person=x&page=-3")
    assert garbage.status == 200 and len(garbage.soup.select("tbody tr")) == 4


def test_the_log_pages_newest_first(person, make_person, staff_sign_in, db):
    for _ in range(51):  # 51 failures (no lockout: each from an address of its own)
        other = make_person()
        other.submit(other.get("/staff/sign-in"),
                     {"email": "agent@demo.test", "password": "wrong password"})
    staff_sign_in(person, "admin@demo.test")
    first = person.get("/staff/admin/audit")
    assert len(first.soup.select("tbody tr")) == 50
    assert "Signed in" in first.soup.select("tbody tr")[0].get_text()
    second = person.get(first.soup.find("a", string="Next page")["href"])
    assert len(second.soup.select("tbody tr")) == 2
    assert second.soup.find("a", string="Next page") is None


def test_the_export_is_safe_csv_with_full_addresses_and_is_itself_recorded(
        person, staff_sign_in, db, client_address):
    staff_sign_in(person, "admin@demo.test")
    agent_id = db.scalar(select(StaffUser.id).where(StaffUser.email == "agent@demo.test"))
    db.execute(text("UPDATE staff_user SET name = '=HYPERLINK(\"x\")' WHERE id = :id"),
               {"id": agent_id})
    person.submit(person.get(f"/staff/admin/people/{agent_id}"), {"role-role": "supervisor"},
                  action=f"/staff/admin/people/{agent_id}/role")

    response = person.client.get("/staff/admin/audit.csv?kind=role_changed")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == 1
    assert rows[0]["subject"] == "'=HYPERLINK(\"x\")"  # a spreadsheet shows it, never runs it
    assert rows[0]["actor"] == "Ada Admin" and rows[0]["address"] == client_address
    assert '"before": "agent"' in rows[0]["detail"]
    exported = db.scalar(select(StaffAuditEntry).where(StaffAuditEntry.kind == "exported"))
    assert exported.detail == {"filters": {"kind": "role_changed"}, "rows": 1}


def test_each_agency_reads_only_its_own_log(person, make_person, staff_sign_in):
    staff_sign_in(make_person(), "agent@demo.test")
    staff_sign_in(person, "compliance@harbor.test")
    page = person.get("/staff/admin/audit")
    assert "Sam Agent" not in page.text and "Hollis Compliance" in page.text
    csv_text = person.client.get("/staff/admin/audit.csv").get_data(as_text=True)
    assert "Sam Agent" not in csv_text


def test_an_agent_cannot_read_the_log(person, staff_sign_in):
    staff_sign_in(person, "agent@demo.test")
    assert person.get("/staff/admin/audit").status == 403
    assert person.client.get("/staff/admin/audit.csv").status_code == 403


def test_the_command_line_add_staff_and_plan_policy_are_recorded(db):
    from portal.agency.service import add_staff
    from portal.cases.service import Actor
    from portal.plans.service import set_policy

    user = db.run(add_staff, "Demo Collections", "cli.person@demo.test", "Cli Person", "agent",
                  "a long enough passphrase")
    nwb = db.scalar(text("SELECT id FROM creditor WHERE code = 'NWB'"))
    db.run(set_policy, nwb, {"max_months": 30}, Actor("staff", "ops", "cli"))
    added, changed = db.scalars(select(StaffAuditEntry).order_by(StaffAuditEntry.id))[-2:]
    assert added.kind == "added" and added.subject_id == user.id and added.actor_id is None
    assert changed.kind == "plan_policy_changed" and changed.detail["by"] == "staff:ops"
    assert changed.detail["after"] == {"max_months": 30}
