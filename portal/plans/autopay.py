"""Autopay: a card saved for a plan (a Stripe Customer per borrower, a SetupIntent for charges
without the borrower present), cancelling autopay, and changing the payment day.

Stripe is called between transactions, never while a row is locked, as the payments service does.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from flask_babel import gettext as _
from sqlalchemy import select

from portal.cases.kinds import EventKind
from portal.cases.service import Actor, record
from portal.extensions import db
from portal.operations import Refused, operation, reading
from portal.outbox.service import publish
from portal.payments.gateway import gateway
from portal.plans.models import InstallmentStatus, PaymentPlan, PlanStatus
from portal.plans.schedule import monthly_date
from portal.plans.service import _message, own_plan

#: Plans whose card may be saved or replaced.
CARD_STATES = (PlanStatus.APPROVED, PlanStatus.ACTIVE)
#: The payment day a borrower may choose (every month has it).
LAST_DAY = 28


def customer_key(borrower_id: int) -> str:
    """Our borrower, as Stripe's idempotency key and metadata know it."""
    return f"borrower:{borrower_id}"


def _customer_of(borrower_id: int) -> str | None:
    return db.session.scalar(
        select(PaymentPlan.stripe_customer_id).where(
            PaymentPlan.borrower_id == borrower_id, PaymentPlan.stripe_customer_id.is_not(None))
        .order_by(PaymentPlan.id).limit(1))


def card_secret(borrower_id: int, number: str) -> str:
    """The client secret the card form confirms (Stripe.js's confirmCardSetup): a SetupIntent
    for off-session use, for the borrower's one Stripe Customer, made once per card saved."""
    with reading("card_secret"):  # no transaction stays open over the network calls
        plan = own_plan(borrower_id, number)
        if plan.status not in CARD_STATES:
            raise Refused(_("A card can be saved only for an approved or active plan."),
                          status=409)
        if plan.setup_client_secret:
            return plan.setup_client_secret
        customer = plan.stripe_customer_id or _customer_of(borrower_id)
        previous = plan.setup_intent_id
    if customer is None:
        customer = gateway().create_customer(customer_key(borrower_id))
    intent_id, secret = gateway().create_off_session_setup(
        customer, f"plan:{number}:after:{previous or 'none'}")
    _keep_setup(borrower_id, number, customer, intent_id, secret)
    return secret


@operation
def _keep_setup(borrower_id: int, number: str, customer: str, intent_id: str,
                secret: str) -> None:
    plan = own_plan(borrower_id, number, lock=True)
    plan.stripe_customer_id = plan.stripe_customer_id or customer
    if plan.setup_client_secret is None:
        plan.setup_intent_id, plan.setup_client_secret = intent_id, secret


def save_card(borrower_id: int, number: str, actor: Actor) -> PaymentPlan:
    """After the browser confirmed the SetupIntent: read its card, attach it to the customer
    explicitly, and keep it on the plan."""
    with reading("save_card"):
        plan = own_plan(borrower_id, number)
        intent_id, customer = plan.setup_intent_id, plan.stripe_customer_id
    if not intent_id or not customer:
        raise Refused(_("Your card details were not confirmed. Please try again."))
    method = gateway().card_of_setup(intent_id)
    if method is None:
        raise Refused(_("Your card details were not confirmed. Please try again."))
    gateway().attach(method, customer)
    return _keep_card(borrower_id, number, intent_id, method, actor)


@operation
def _keep_card(borrower_id: int, number: str, intent_id: str, method: str,
               actor: Actor) -> PaymentPlan:
    plan = own_plan(borrower_id, number, lock=True)
    if plan.status not in CARD_STATES or plan.setup_intent_id != intent_id:
        raise Refused(_("Your card details were not confirmed. Please try again."), status=409)
    replaced = plan.payment_method_id is not None
    plan.payment_method_id, plan.setup_client_secret = method, None
    if plan.status == PlanStatus.ACTIVE:
        _changed(plan, actor, "card_replaced" if replaced else "card_saved")
    return plan


def _changed(plan: PaymentPlan, actor: Actor, change: str, **facts) -> None:
    event = record(actor, EventKind.PLAN_CHANGED, borrower_id=plan.borrower_id,
                   account_id=plan.account_id,
                   data={"plan": plan.number, "change": change, **facts})
    publish("plan.changed", _message(plan, change=change, autopay=plan.autopay, **facts),
            account_ref=plan.account.reference, case_event_id=event.id)


@operation
def cancel_autopay(borrower_id: int, number: str, actor: Actor) -> PaymentPlan:
    """No more charges without the borrower: the plan goes on, paid by hand."""
    plan = own_plan(borrower_id, number, lock=True)
    if plan.status != PlanStatus.ACTIVE or not plan.autopay:
        raise Refused(_("Autopay is not on for this plan."), status=409)
    plan.autopay = False
    _changed(plan, actor, "autopay_canceled")
    return plan


def _new_dates(first: date, count: int, day: int, today: date) -> list[date]:
    """`count` monthly dates on `day`, from the month of `first` (or the next, when that date
    would not be after today)."""
    start = monthly_date(first, 0, day)
    months = 0 if start > today else 1
    return [monthly_date(first, months + i, day) for i in range(count)]


@operation
def change_day(borrower_id: int, number: str, day_text: str | None, actor: Actor) -> PaymentPlan:
    """Move the installments still to come to another day of the month."""
    text = (day_text or "").strip()
    if not re.fullmatch(r"[0-9]{1,2}", text) or not 1 <= int(text) <= LAST_DAY:
        raise Refused(_("Choose a day from 1 to %(n)d.", n=LAST_DAY))
    day = int(text)
    plan = own_plan(borrower_id, number, lock=True)
    if plan.status != PlanStatus.ACTIVE:
        raise Refused(_("Only an active plan's payment date can change."), status=409)
    coming = [i for i in plan.installments
              if i.status == InstallmentStatus.SCHEDULED and i.payment_id is None]
    if not coming:
        raise Refused(_("There are no scheduled payments left to move."), status=409)
    today = datetime.now(UTC).date()
    if any(i.due_on <= today and i.status != InstallmentStatus.PAID for i in plan.installments):
        # Moving the day must not push back a payment already due (nor dodge the grace period).
        raise Refused(_("A payment is due now: pay it first, then change the day."), status=409)
    for installment, on in zip(coming, _new_dates(coming[0].due_on, len(coming), day, today),
                               strict=True):
        installment.due_on, installment.reminded_at = on, None
    _changed(plan, actor, "payment_day", day=day,
             schedule=[[i.due_on.isoformat(), i.amount_minor] for i in coming])
    return plan
