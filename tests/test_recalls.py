"""Recalls (issue 14): a creditor takes accounts back by file, on the command line and in the
console; contact stops at once, plans end with the borrower told, the borrower sees whom to
contact; and the API finds an account by the creditor's own id."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update
from werkzeug.datastructures import MultiDict

from portal.accounts.models import Account, Borrower, Creditor
from portal.accounts.placement import Debt, place
from portal.cases.models import CaseEvent
from portal.cases.service import Actor
from portal.contact.models import ContactHold
from portal.extensions import db as database
from portal.messaging.models import CapturedMessage
from portal.money import Money
from portal.outbox.models import OutboxMessage
from portal.placements import recalls
from portal.plans import charging
from portal.plans import service as plans
from portal.plans.models import Installment, PaymentPlan
from tests.fixtures.client import Page
from tests.fixtures.clock import next_utc

#: The demo accounts' ids with their creditors (portal/demo/data.py).
NWB_1001 = "4000123412341234"
NWB_1002 = "4000555566667777"
LUM_1001 = "LL-99887766"
BRC_4001 = "BC-55443322"
KEY = {"Authorization": "Bearer demo-dialer-key"}
HARBOR_KEY = {"Authorization": "Bearer harbor-dialer-key"}


def _file(*ids: str, header: str = "creditor_account_id") -> bytes:
    return ("\n".join([header, *ids]) + "\n").encode()


def _cli(app, tmp_path, data: bytes, creditor: str = "NWB", *extra: str):
    path = tmp_path / "recall.csv"
    path.write_bytes(data)
    return app.test_cli_runner().invoke(
        args=["placements", "recall", str(path), "--creditor", creditor, *extra])


def _status(db, reference: str) -> str:
    return db.scalar(select(Account.status).where(Account.reference == reference))


def _events(db, kind: str | None = None) -> int:
    query = select(func.count()).select_from(CaseEvent)
    return db.scalar(query.where(CaseEvent.kind == kind) if kind else query)


def _decision(client, reference: str, channel: str, at: datetime | None = None, **extra):
    body = {"account_ref": reference, "channel": channel, **extra}
    if at is not None:
        body["at"] = at.isoformat()
    response = client.post("/api/v1/contact-decisions", json=body, headers=KEY)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json


# --- the command line ----------------------------------------------------------------------------


def test_a_recall_file_recalls_each_account_and_stops_contact_at_once(app, db, demo, client,
                                                                      tmp_path):
    before = _decision(client, "NWB-1001", "letter")
    assert "creditor.recalled" not in [r["rule"] for r in before["reasons"]]

    result = _cli(app, tmp_path, _file(NWB_1001, NWB_1002))
    assert result.exit_code == 0, result.output
    assert "NWB-1001 recalled" in result.output and "NWB-1002 recalled" in result.output
    assert NWB_1001 not in result.output  # the creditor's ids are masked: ••••1234
    assert "••••1234" in result.output

    assert (_status(db, "NWB-1001"), _status(db, "NWB-1002")) == ("recalled", "recalled")
    assert _status(db, "LUM-1001") == "open"  # Alex's other account is untouched
    assert _events(db, "account.recalled") == 2
    recalled = db.scalar(select(CaseEvent).where(CaseEvent.kind == "account.recalled")
                         .order_by(CaseEvent.id))
    assert recalled.data["creditor"] == "NWB" and recalled.data["from"] == "open"
    assert len(recalled.data["file"]) == 64  # the file's SHA-256, not its ids
    hooks = db.scalars(select(OutboxMessage).where(OutboxMessage.topic == "account.recalled"))
    assert sorted(m.account_ref for m in hooks) == ["NWB-1001", "NWB-1002"]
    assert {h.rule for h in db.scalars(select(ContactHold).where(
        ContactHold.ended_at.is_(None), ContactHold.key == "recalled"))} == {"creditor.recalled"}

    # At once, in the API: every channel blocked by the recall's own rule, with its citation.
    account = client.get("/api/v1/accounts/NWB-1001", headers=KEY).json
    assert account["status"] == "recalled"
    assert [h["rule"] for h in account["holds"]] == ["creditor.recalled"]
    for channel in ("call", "sms", "email", "letter", "visit"):
        destination = {"call": "+12135550147", "sms": "+12135550147",
                       "email": "alex@example.com"}.get(channel)
        answer = _decision(client, "NWB-1001", channel, destination=destination)
        assert answer["allowed"] is False, channel
        reason = next(r for r in answer["reasons"] if r["rule"] == "creditor.recalled")
        assert "recall instruction" in reason["citation"] and reason["until"] is None
    assert "creditor.recalled" not in [
        r["rule"] for r in _decision(client, "LUM-1001", "letter")["reasons"]]

    # The same file twice changes nothing.
    events, hooks = _events(db), db.scalar(select(func.count()).select_from(OutboxMessage))
    again = _cli(app, tmp_path, _file(NWB_1001, NWB_1002))
    assert again.exit_code == 0, again.output
    assert "0 recalled, 2 already recalled" in again.output
    assert _events(db) == events
    assert db.scalar(select(func.count()).select_from(OutboxMessage)) == hooks


def test_an_unknown_id_or_a_bad_row_refuses_the_whole_file_naming_each_row(app, db, demo,
                                                                          tmp_path):
    events = _events(db)
    data = (f"reason,creditor_account_id\nfraud,{NWB_1001}\nsold,9999000011112222\n"
            f"sold,\nsold,{LUM_1001}\nsold,{NWB_1001}\n").encode()
    result = _cli(app, tmp_path, data)
    assert result.exit_code != 0
    assert "row 3: creditor_account_id: No account of this creditor has this" in result.output
    assert "row 4: creditor_account_id: creditor_account_id is empty." in result.output
    # Another creditor's account is unknown to this one.
    assert "row 5: creditor_account_id: No account of this creditor" in result.output
    assert "row 6: creditor_account_id: The same creditor_account_id is already on row 2" \
        in result.output
    assert "nothing was changed" in result.output
    assert "row 2:" not in result.output
    assert _status(db, "NWB-1001") == "open" and _events(db) == events

    wrong_header = _cli(app, tmp_path, b"account_number\n" + NWB_1001.encode() + b"\n")
    assert wrong_header.exit_code != 0 and "no creditor_account_id column" in wrong_header.output
    unknown = _cli(app, tmp_path, _file(NWB_1001), "ZZZ")
    assert unknown.exit_code != 0 and "no creditor with code 'ZZZ'" in unknown.output
    dry = _cli(app, tmp_path, _file(NWB_1001), "NWB", "--dry-run")
    assert dry.exit_code == 0 and "NWB-1001 would recall" in dry.output
    assert _status(db, "NWB-1001") == "open" and _events(db) == events


# --- plans, autopay and telling the borrower ------------------------------------------------------


def _active_plan(db, make_plan, reference: str) -> PaymentPlan:
    proposed = make_plan(reference)
    db.run(plans.accept, proposed.borrower_id, proposed.number, False, None,
           Actor("borrower", str(proposed.borrower_id), "10.0.0.1"))
    # A card saved for autopay (as autopay.save_card leaves it).
    db.execute(update(PaymentPlan).where(PaymentPlan.id == proposed.id)
               .values(autopay=True, payment_method_id="pm_card_visa"))
    return db.scalar(select(PaymentPlan).where(PaymentPlan.id == proposed.id))


def _recall(db, *ids: str, creditor: str = "NWB", at: datetime | None = None):
    return db.run(recalls.recall_file_of, _file(*ids), creditor,
                  Actor.system("test"), None, at)


def test_a_recall_cancels_the_plans_stops_autopay_and_tells_the_borrower(db, demo, client,
                                                                         make_plan):
    plan = _active_plan(db, make_plan, "NWB-1001")
    proposal = make_plan("NWB-1002")  # María's proposal, still waiting for her
    last_due = db.scalar(select(func.max(Installment.due_on))
                         .where(Installment.plan_id == plan.id))
    assert db.run(charging.due_installments, last_due)  # autopay would charge them
    at = next_utc(19)  # daytime in New York, Cambridge and Los Angeles all year round

    review = _recall(db, NWB_1001, NWB_1002, at=at)

    statuses = dict(db.execute(select(PaymentPlan.id, PaymentPlan.status)
                               .where(PaymentPlan.id.in_([plan.id, proposal.id]))).all())
    assert statuses == {plan.id: "canceled", proposal.id: "canceled"}
    assert db.run(charging.due_installments, last_due) == []  # nothing charged any more
    assert db.scalar(select(func.count()).select_from(ContactHold).where(
        ContactHold.key == f"plan:{plan.number}", ContactHold.ended_at.is_(None))) == 0
    assert review.told == {"NWB-1001": "email", "NWB-1002": "email"}
    mail = {m.destination: m for m in db.scalars(select(CapturedMessage).where(
        CapturedMessage.kind == "recalled_plans_cancelled"))}
    assert sorted(mail) == ["alex@example.com", "maria@example.com"]
    assert plan.number in mail["alex@example.com"].body
    assert "+1 800 555 0110" in mail["alex@example.com"].body  # whom to contact now
    assert "Northwind Bank" in mail["alex@example.com"].subject
    changed = db.scalars(select(CaseEvent).where(CaseEvent.kind == "plan.changed",
                                                 CaseEvent.account_id == plan.account_id))
    assert [e.data["change"] for e in changed][-1] == "canceled_by_recall"
    # The recall's rule lets the notice that efforts end through, and nothing to collect.
    after = _decision(client, "NWB-1001", "email", at + timedelta(minutes=1),
                      destination="alex@example.com", purpose="efforts_ending")
    assert after["allowed"] is True
    assert _decision(client, "NWB-1001", "email", at + timedelta(minutes=1),
                     destination="alex@example.com")["allowed"] is False


def test_a_recall_at_night_tells_the_borrower_by_letter(db, demo, make_plan):
    _active_plan(db, make_plan, "NWB-1001")
    now = datetime.now(UTC)
    night = now.replace(hour=7, minute=0, second=0, microsecond=0)  # 02:00-03:00 in New York
    review = _recall(db, NWB_1001, at=night if night > now else night + timedelta(days=1))
    assert review.told == {"NWB-1001": "letter"}
    (letter,) = db.scalars(select(CapturedMessage).where(
        CapturedMessage.kind == "recalled_plans_cancelled"))
    assert letter.channel == "letter"


def test_a_paid_account_can_be_recalled_and_a_closed_one_is_left_as_it_is(db, demo):
    db.execute(update(Account).where(Account.reference == "NWB-1002").values(status="closed"))
    review = _recall(db, NWB_1001, NWB_1002)
    assert [m.reference for m in review.recall] == ["NWB-1001"]
    assert [m.reference for m in review.closed] == ["NWB-1002"]
    assert _status(db, "NWB-1002") == "closed"


# --- the borrower's view -------------------------------------------------------------------------


def test_the_borrower_sees_the_account_returned_with_whom_to_contact(db, demo, person):
    _recall(db, NWB_1001)
    page = person.sign_in("DEMO-1001", "1985-04-12")
    assert page.h1 == "Your accounts"
    assert "Returned to Northwind Bank" in page.text
    detail = person.get("/accounts/NWB-1001")
    assert detail.status == 200
    assert "This account has been returned to Northwind Bank." in detail.text
    for contact in ("+1 800 555 0110", "https://northwind.example/help", "Wilmington, DE 19850"):
        assert contact in detail.text
    for button in ("Make a payment", "Set up a plan", "Dispute this debt"):
        assert button not in detail.text
    # A pay form reached by its address is refused when sent, and nothing is charged.
    paying = person.submit(person.get("/accounts/NWB-1001/pay"), {"choice": "full"},
                           action="/accounts/NWB-1001/pay")
    assert paying.status == 422 and "This account is not open for payments." in paying.text
    other = person.get("/accounts/LUM-1001")
    assert "Make a payment" in other.text and "Dispute this debt" in other.text


# --- the console ---------------------------------------------------------------------------------


def _upload(person, page, data: bytes, creditor: str = "NWB"):
    token = page.soup.find("input", {"name": "csrf_token"})["value"]
    response = person.client.post("/staff/recalls/preview", data={
        "csrf_token": token, "creditor": creditor,
        "file": (io.BytesIO(data), "recall.csv")}, content_type="multipart/form-data")
    return Page(response, "/staff/recalls/preview")


def test_a_supervisor_previews_then_confirms_a_recall_in_the_console(db, demo, person,
                                                                   staff_sign_in):
    staff_sign_in(person, "supervisor@demo.test")
    page = person.get("/staff/recalls")
    assert page.h1 == "Recalls" and "Upload a recall file" in page.text

    refused = _upload(person, page, _file(NWB_1001, "0000"))
    assert refused.status == 422
    assert "This file cannot be used" in refused.text and "Nothing has changed" in refused.text
    assert "No account of this creditor has this creditor_account_id." in refused.text
    assert not refused.soup.find("form", action="/staff/recalls/confirm")

    preview = _upload(person, page, _file(NWB_1001, NWB_1002))
    assert preview.status == 200
    assert "2 accounts will be recalled" in preview.text
    assert "NWB-1001" in preview.text and "••••1234" in preview.text
    assert NWB_1001 not in preview.html  # the creditor's ids never reach the page
    assert _status(db, "NWB-1001") == "open"  # a preview writes nothing

    form = preview.soup.find("form", action="/staff/recalls/confirm")
    fields = [(i["name"], i.get("value", "")) for i in form.find_all("input")]
    assert [v for n, v in fields if n == "account"] == ["NWB-1001", "NWB-1002"]
    done = Page(person.client.post("/staff/recalls/confirm", data=MultiDict(fields),
                                   follow_redirects=True), "/staff/recalls")
    assert done.h1 == "Recalls"
    assert "2 account(s) recalled for Northwind Bank" in done.text
    assert (_status(db, "NWB-1001"), _status(db, "NWB-1002")) == ("recalled", "recalled")
    assert "NWB-1001" in done.text  # in the list of accounts recalled lately
    again = _upload(person, page, _file(NWB_1001, NWB_1002))
    assert "Nothing in this file is left to recall" in again.text


def test_an_agent_sees_the_recalls_but_cannot_recall(db, demo, person, staff_sign_in):
    _recall(db, NWB_1001)
    staff_sign_in(person, "agent@demo.test")
    page = person.get("/staff/recalls")
    assert page.status == 200 and "NWB-1001" in page.text
    assert "Upload a recall file" not in page.text
    token = page.soup.find("input", {"name": "csrf_token"})["value"]
    response = person.client.post("/staff/recalls/confirm", data={
        "csrf_token": token, "creditor": "NWB", "sha256": "0" * 64, "account": "NWB-1002"})
    assert response.status_code == 403
    assert _status(db, "NWB-1002") == "open"


def test_another_agencys_supervisor_cannot_recall_or_see_its_accounts(db, demo, person,
                                                                     staff_sign_in):
    _recall(db, NWB_1001)
    staff_sign_in(person, "supervisor@harbor.test")
    page = person.get("/staff/recalls")
    assert "NWB-1001" not in page.text and "Northwind" not in page.text
    assert [o["value"] for o in page.soup.select("select[name=creditor] option")] == ["BRC"]
    refused = _upload(person, page, _file(NWB_1002), "NWB")  # not one of its creditors
    assert refused.status == 422 and "NWB-1002" not in refused.text
    token = page.soup.find("input", {"name": "csrf_token"})["value"]
    response = person.client.post("/staff/recalls/confirm", data={
        "csrf_token": token, "creditor": "NWB", "sha256": "0" * 64, "account": "NWB-1002"})
    assert response.status_code == 404
    assert _status(db, "NWB-1002") == "open"
    assert person.client.get("/staff/accounts/NWB-1001").status_code == 404


# --- the API: the creditor's own id ------------------------------------------------------------


def _place_same_id_with_lumen(db):
    """A Lumen Lending account that uses Northwind's id for NWB-1001 (two creditors, one id)."""

    def write():
        lumen = database.session.scalar(select(Creditor).where(Creditor.code == "LUM"))
        alex = database.session.scalar(select(Borrower).where(Borrower.reference == "DEMO-1001"))
        usd = Money.parse("100.00", "USD")
        return place(lumen, alex, Debt("LUM-1002", "Online loan", NWB_1001, usd,
                                       Money.zero("USD"), Money.zero("USD"), Money.zero("USD"),
                                       itemization_date=datetime.now(UTC).date()),
                     Actor.system("test")).reference

    return db.run(write)


def test_the_api_finds_an_account_by_the_creditors_id_within_the_agency(db, demo, client):
    by_id = client.get(f"/api/v1/accounts/{NWB_1001}", headers=KEY)
    assert by_id.status_code == 200 and by_id.json["account_ref"] == "NWB-1001"
    assert client.get(f"/api/v1/accounts/{LUM_1001}", headers=KEY).json["account_ref"] == \
        "LUM-1001"
    # Another agency's creditor's id is not found, exactly as an id nobody uses.
    other = client.get(f"/api/v1/accounts/{BRC_4001}", headers=KEY)
    nobody = client.get("/api/v1/accounts/BC-00000000", headers=KEY)
    assert other.status_code == nobody.status_code == 404
    assert other.json["code"] == "account_not_found"
    assert client.get(f"/api/v1/accounts/{NWB_1001}", headers=HARBOR_KEY).status_code == 404
    assert client.get(f"/api/v1/accounts/{BRC_4001}", headers=HARBOR_KEY).json[
        "account_ref"] == "BRC-4001"
    # Named with its creditor: only that creditor's ids.
    assert client.get(f"/api/v1/accounts/{NWB_1001}?creditor=nwb", headers=KEY).json[
        "account_ref"] == "NWB-1001"
    assert client.get(f"/api/v1/accounts/{NWB_1001}?creditor=LUM",
                      headers=KEY).status_code == 404
    assert client.get(f"/api/v1/accounts/{BRC_4001}?creditor=BRC",
                      headers=KEY).status_code == 404


def test_two_creditors_of_the_agency_with_one_id_answer_409_with_both(db, demo, client):
    second = _place_same_id_with_lumen(db)
    response = client.get(f"/api/v1/accounts/{NWB_1001}", headers=KEY)
    assert response.status_code == 409 and response.mimetype == "application/problem+json"
    body = response.json
    assert body["code"] == "ambiguous_account" and "?creditor=CODE" in body["detail"]
    assert body["matches"] == [{"account_ref": second, "creditor": "LUM"},
                               {"account_ref": "NWB-1001", "creditor": "NWB"}]
    assert client.get(f"/api/v1/accounts/{NWB_1001}?creditor=LUM", headers=KEY).json[
        "account_ref"] == second
    # The agency's reference is never ambiguous.
    assert client.get("/api/v1/accounts/NWB-1001", headers=KEY).json["account_ref"] == "NWB-1001"
    # And a recall file of one creditor matches only its own account.
    review = _recall(db, NWB_1001)
    assert [m.reference for m in review.recall] == ["NWB-1001"]
    assert _status(db, second) == "open"


def test_the_openapi_document_describes_the_lookup_and_the_409(client):
    document = client.get("/api/v1/openapi.json").json
    get = document["paths"]["/accounts/{account_ref}"]["get"]
    assert "409" in get["responses"]
    assert [p["name"] for p in get["parameters"]] == ["account_ref", "creditor"]
    assert "recalled" in document["components"]["schemas"]["Account"]["properties"]["status"][
        "enum"]


@pytest.mark.parametrize("reference", ["NWB-1001", NWB_1001])
def test_a_recalled_account_reads_the_same_by_either_id(db, demo, client, reference):
    _recall(db, NWB_1001)
    answer = client.get(f"/api/v1/accounts/{reference}", headers=KEY).json
    assert answer["account_ref"] == "NWB-1001" and answer["status"] == "recalled"
