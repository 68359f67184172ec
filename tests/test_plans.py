"""Plans through the borrower's and the staff's pages: proposals decided at once (approved,
countered and accepted in one tap, referred, declined), a person asked to review, hardship and
its hold, accepting by hand (the plan's hold pauses calls, not email) and paying an installment by
hand; and the policy edited from the command line."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import func, select

from portal.accounts.models import Creditor
from portal.cases.models import CaseEvent
from portal.contact.models import ContactHold
from portal.outbox.models import OutboxMessage
from portal.payments import inbox
from portal.payments.models import Payment
from portal.plans import charging
from portal.plans.models import CreditorPlanPolicy, Installment, PaymentPlan
from tests.fixtures.stripe import event

OWNER = ("DEMO-1001", "1985-04-12")


@pytest.fixture
def alex(person, demo):
    page = person.sign_in(*OWNER)
    assert page.h1 == "Your accounts"
    return person


def _propose(person, reference="LUM-1001", **fields):
    page = person.get(f"/accounts/{reference}/plan")
    data = {"kind": "installments", "months": "12", "action": "propose"} | fields
    page = person.submit(page, data, action="/plan")
    assert page.h1.startswith("Your plan"), page.text[:400]
    return page, re.search(r"/plans/(P-\d+)", page.url).group(1)


def _plan(db, number) -> PaymentPlan:
    return db.scalar(select(PaymentPlan).where(PaymentPlan.id == int(number[2:])))


def _live_rules(db) -> set[str]:
    return set(db.scalars(select(ContactHold.rule).where(ContactHold.ended_at.is_(None))))


def _decision(client, channel="call", destination="+1 213 555 0147") -> dict:
    response = client.post("/api/v1/contact-decisions", json={
        "account_ref": "LUM-1001", "channel": channel, "destination": destination},
        headers={"Authorization": "Bearer demo-dialer-key"})
    assert response.status_code == 200, response.json
    return response.json


def _rules(answer: dict) -> set[str]:
    return {r["rule"] for r in answer["reasons"] if r["effect"] == "block"}


def test_twelve_monthly_payments_on_lum_1001_are_approved_at_once(alex, db):
    page = alex.get("/accounts/LUM-1001/plan")
    preview = alex.submit(page, {"kind": "installments", "months": "12", "action": "preview"},
                          action="/plan")
    assert "$830.00" in preview.text and "$69.17" in preview.text
    page, number = _propose(alex)
    assert "Approved" in page.text
    assert "is within the creditor's rules" in page.text
    assert "Accept this plan" in page.text
    plan = _plan(db, number)
    assert (plan.status, plan.total_minor, plan.months) == ("approved", 83000, 12)
    assert plan.decision["by"] == "rules"
    kinds = db.scalars(select(CaseEvent.kind).where(CaseEvent.account_id == plan.account_id))
    assert "plan.proposed" in kinds
    topics = db.scalars(select(OutboxMessage.topic).where(OutboxMessage.account_ref == "LUM-1001"))
    assert topics.count("plan.proposed") == 1


def test_a_counter_offer_is_accepted_in_one_tap(alex, db):
    page, number = _propose(alex, months="", monthly="10.00")
    assert "We made you an offer" in page.text
    assert "below the creditor's minimum of $25.00" in page.text
    assert "We can offer $34.59 a month for 24 months." in page.text
    page = alex.submit(page, action="/counter")
    assert page.h1 == "Accept your plan"
    plan = _plan(db, number)
    assert plan.status == "approved" and plan.monthly_minor == 3459 and plan.months == 24
    assert plan.decision["accepted_counter"] is True


def test_a_budget_below_the_rules_is_referred_to_a_person(alex, db):
    page, number = _propose(alex, months="", monthly="10.00", income="1000", fixed_costs="980")
    assert "With a person for review" in page.text
    assert "Your budget leaves $20.00 a month" in page.text
    assert "A person will answer within 5 working days." in page.text
    assert _plan(db, number).status == "referred"


def test_a_person_can_be_asked_to_review_an_automatic_decision(alex, db):
    page, number = _propose(alex)
    page = alex.submit(page, action="/review")
    assert "A person will review your proposal within 5 working days." in page.text
    plan = _plan(db, number)
    assert plan.status == "referred" and plan.review_requested_at is not None
    assert "Ask a person to review" not in page.text  # once
    kinds = db.scalars(select(CaseEvent.kind).where(CaseEvent.account_id == plan.account_id))
    assert "plan.review_requested" in kinds


def test_staff_decline_with_a_reason_the_borrower_reads(alex, db, make_person, staff_sign_in):
    _page, number = _propose(alex, months="", monthly="10.00", income="1000",
                             fixed_costs="980")
    agent = make_person()
    staff_sign_in(agent, "agent@demo.test")
    queue = agent.get("/staff/plans")
    assert number in queue.text
    case = agent.get(f"/staff/plans/{number}")
    # The budget and the reasons are personal data: the staff view is on the case record.
    viewed = db.scalars(select(CaseEvent.data).where(
        CaseEvent.kind == "staff.viewed_personal_data",
        CaseEvent.account_id == _plan(db, number).account_id))
    assert {"view": "plan", "plan": number, "role": "agent"} in viewed
    done = agent.submit(case, {"outcome": "declined", "note": ""}, action="/decide")
    assert "Give the reason" in done.text
    done = agent.submit(case, {"outcome": "declined",
                               "note": "Please call us to talk about your income."},
                        action="/decide")
    assert "Saved." in done.text
    page = alex.get(f"/plans/{number}")
    assert "Declined" in page.text and "Please call us to talk about your income." in page.text
    assert _plan(db, number).decision["by"].startswith("staff:")
    assert number not in agent.get("/staff/plans").text


def test_hardship_pauses_contact_until_a_person_decides(alex, db, make_person, staff_sign_in,
                                                        client):
    page, number = _propose(alex, kind="hardship", months="", hardship_reason="job_loss",
                            pause_days="30", monthly="25.00")
    assert "With a person for review" in page.text
    hold = db.scalar(select(ContactHold).where(ContactHold.rule == "policy.hardship-review"))
    assert hold.ended_at is None and (hold.until - hold.started_at).days == 14
    assert "policy.hardship-review" in _rules(_decision(client))

    agent = make_person()
    staff_sign_in(agent, "agent@demo.test")
    agent.submit(agent.get(f"/staff/plans/{number}"), {"outcome": "approved"}, action="/decide")
    assert _plan(db, number).status == "approved"
    assert "policy.hardship-review" not in _live_rules(db)
    assert "policy.hardship-review" not in _rules(_decision(client))


def test_accepting_by_hand_pauses_calls_not_email_and_an_installment_is_paid_by_hand(
        alex, db, client, stripe_emulator, post_event):
    _page, number = _propose(alex)
    page = alex.get(f"/plans/{number}/accept")
    page = alex.submit(page, {"how": "hand"}, action="/accept")
    assert f"Your plan {number} has started." in page.text
    assert "You pay each installment" in page.text
    plan = _plan(db, number)
    assert plan.status == "active" and not plan.autopay and plan.consent_text is None
    assert "policy.plan-in-good-standing" in _live_rules(db)
    assert "policy.plan-in-good-standing" in _rules(_decision(client))
    assert "policy.plan-in-good-standing" not in _rules(
        _decision(client, "email", "alex@example.com"))
    assert "policy.plan-in-good-standing" in _rules(_decision(client, "sms"))

    # The pay page offers the next installment; it goes through the card page.
    pay = alex.get("/accounts/LUM-1001/pay")
    assert "the next installment is $69.17" in pay.text
    page = alex.submit(pay, action="/pay-installment")
    assert page.h1 == "Pay $69.17", page.text[:300]
    public_id = re.search(r"/payments/([0-9a-f-]{36})", page.url).group(1)
    form = page.soup.find(id="card-form")
    stripe_emulator.confirm_card(form["data-client-secret"])
    page = alex.submit(page, action="/submit")
    payment = db.scalar(select(Payment).where(Payment.public_id == public_id))
    assert payment.status == "pending" and payment.choice == "installment"
    first = db.scalar(select(Installment).where(Installment.plan_id == plan.id,
                                                Installment.number == 1))
    assert first.payment_id == payment.id
    assert "Pay the next installment" not in alex.get(f"/plans/{number}").text  # under way

    intent = stripe_emulator.intent(payment.payment_intent_id)
    assert post_event(event("payment_intent.succeeded", intent)).status_code == 200
    db.run(inbox.apply_received)
    assert db.run(charging.settle_installments) == {"paid": 1}
    page = alex.get(f"/plans/{number}")
    assert "Paid" in page.text and "Pay the next installment ($69.17)" in page.text


def test_set_policy_from_the_command_line(app, db, demo, tmp_path):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["plans", "set-policy", "--creditor", "LUM", "--max-months",
                                 "36", "--grace-days", "5", "--settlement-floors", "0:90,365:70"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown["max_months"] == 36 and shown["grace_days"] == 5
    assert shown["settlement_floors"] == [{"min_age_days": 0, "percent": 90},
                                          {"min_age_days": 365, "percent": 70}]
    creditor_id = db.scalar(select(Creditor.id).where(Creditor.code == "LUM"))
    row = db.scalar(select(CreditorPlanPolicy).where(
        CreditorPlanPolicy.creditor_id == creditor_id))
    assert row.data["max_months"] == 36 and row.data["min_monthly"] == 2500  # the rest kept

    values = tmp_path / "policy.json"
    values.write_text(json.dumps({"min_monthly": 5000, "missed_extend_plan": True}))
    result = runner.invoke(args=["plans", "set-policy", "--creditor", "LUM", "--from-file",
                                 str(values)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["min_monthly"] == 5000
    assert json.loads(result.output)["max_months"] == 36

    bad = runner.invoke(args=["plans", "set-policy", "--creditor", "NOPE"])
    assert bad.exit_code != 0 and "no creditor" in bad.output
    values.write_text(json.dumps({"nonsense": 1}))
    bad = runner.invoke(args=["plans", "set-policy", "--creditor", "LUM", "--from-file",
                              str(values)])
    assert bad.exit_code != 0 and "not a plan policy field" in bad.output


def test_charge_due_from_the_command_line(app, db, demo):
    result = app.test_cli_runner().invoke(args=["plans", "charge-due", "--today", "2030-01-01"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "nothing due"


def test_the_plan_keeps_the_schedule_the_calculator_showed(db, demo, make_plan):
    """12 months of USD 830.00: eight of 69.17 and four of 69.16, on the page and in the plan."""
    from portal.plans import service

    plan = make_plan("LUM-1001", months="12")
    dues = db.run(lambda: [d.amount for d in service.schedule_of(
        db.database.session.get(type(plan), plan.id))])
    assert dues == [6917] * 8 + [6916] * 4
    assert sum(dues) == 83000


def test_one_plan_per_account_a_new_proposal_replaces_the_open_one(alex, db):
    _page, first = _propose(alex)
    _page, second = _propose(alex, months="6")
    assert _plan(db, first).status == "canceled"
    assert _plan(db, second).status == "approved"
    alex.submit(alex.get(f"/plans/{second}/accept"), {"how": "hand"}, action="/accept")
    page = alex.get("/accounts/LUM-1001/plan")
    page = alex.submit(page, {"kind": "installments", "months": "3", "action": "propose"},
                       action="/plan")
    assert page.status == 422 and "already has a plan running" in page.text
    assert db.scalar(select(PaymentPlan).where(PaymentPlan.status == "active")).id == int(
        second[2:])


def test_a_new_hardship_request_does_not_renew_the_review_pause(alex, db):
    _page, first = _propose(alex, kind="hardship", hardship_reason="job_loss", pause_days="30")
    started = db.scalar(select(ContactHold).where(ContactHold.rule == "policy.hardship-review"))
    _page, second = _propose(alex, kind="hardship", hardship_reason="illness", pause_days="30")
    holds = db.scalars(select(ContactHold).where(ContactHold.rule == "policy.hardship-review",
                                                 ContactHold.ended_at.is_(None)))
    assert len(holds) == 1 and holds[0].until == started.until


@pytest.mark.parametrize("months", ["²", "١٢", "0", "-1", "9999", "1e3"])
def test_odd_numbers_in_the_calculator_are_refused_plainly(alex, db, months):
    page = alex.get("/accounts/LUM-1001/plan")
    page = alex.submit(page, {"kind": "installments", "months": months, "action": "propose"},
                       action="/plan")
    assert page.status == 422
    assert "whole number" in page.text or "longer than 3 characters" in page.text
    assert db.scalar(select(PaymentPlan)) is None


def test_a_staff_counter_of_the_wrong_shape_is_refused_up_front(alex, db, make_person,
                                                                staff_sign_in):
    _page, number = _propose(alex, monthly="10.00", income="2000", fixed_costs="1500",
                             flexible_costs="490")
    assert _plan(db, number).status == "referred"
    staff = make_person()
    staff_sign_in(staff, "agent@demo.test")
    page = staff.submit(staff.get(f"/staff/plans/{number}"),
                        {"outcome": "countered", "settlement": "500.00"}, action="/decide")
    assert "a monthly amount or a number of months" in page.text
    assert _plan(db, number).status == "referred"
    staff.submit(staff.get(f"/staff/plans/{number}"),
                 {"outcome": "countered", "monthly": "40.00"}, action="/decide")
    page = alex.submit(alex.get(f"/plans/{number}"), action="/counter")
    assert page.status == 200 and _plan(db, number).status == "approved"


def test_the_payment_day_cannot_push_back_a_payment_already_due(alex, db):
    from datetime import date, timedelta

    from sqlalchemy import update

    _page, number = _propose(alex)
    alex.submit(alex.get(f"/plans/{number}/accept"), {"how": "hand"}, action="/accept")
    plan = _plan(db, number)
    db.execute(update(Installment).where(Installment.plan_id == plan.id,
                                         Installment.number == 1)
               .values(due_on=date.today() - timedelta(days=3)))
    page = alex.submit(alex.get(f"/plans/{number}"), {"day": "15"}, action="/day")
    assert "A payment is due now" in page.text


def test_absurd_plan_numbers_are_not_found(alex):
    for bad in ("P-999999999999", "P-2147483648", "P-abc", "D-000001"):
        assert alex.client.get(f"/plans/{bad}").status_code == 404, bad


def test_the_payment_day_form_starts_at_the_day_payments_fall_on(alex, db):
    _page, number = _propose(alex)
    alex.submit(alex.get(f"/plans/{number}/accept"), {"how": "hand"}, action="/accept")
    next_due = db.scalar(select(func.min(Installment.due_on)).where(
        Installment.plan_id == int(number[2:]), Installment.status == "scheduled"))
    form = alex.get(f"/plans/{number}").form("/day")
    chosen = [o["value"] for o in form.find_all("option") if o.has_attr("selected")]
    assert chosen == [str(min(next_due.day, 28))]
