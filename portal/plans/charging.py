"""Paying a plan: an installment paid by hand (a card payment for it, through the payments pages)
or charged by autopay (the `plans.charge_due` job), and what follows from each payment's outcome:
the installment paid or failed (retried after 3 days, the borrower told), the plan completed
(a settlement settles the account) or, past the creditor's grace days, broken; and a reminder a
few days before each due date, sent only where the contact rules allow it.

The job claims each installment with its row locked (SKIP LOCKED: another worker takes the next
one), writes the Payment row and commits before Stripe is called, and charges it with the
idempotency key `installment:<id>:attempt:<n>`, so a retried request never charges twice and a
crash leaves a row the payments reconciliation resolves. The ledger is posted by Stripe's webhook
through the payments service, as for any card payment; an installment is paid once its payment
has succeeded there (`settle_installments`, every run).
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import and_, func, or_, select

from portal.accounts import ledger
from portal.accounts.models import Account, AccountStatus, Borrower
from portal.cases.kinds import EventKind
from portal.cases.service import Actor, record
from portal.contact import service as contact
from portal.contact.localtime import local_today
from portal.contact.models import ContactHold
from portal.extensions import db
from portal.messaging import messages
from portal.messaging.notify import Outcome, Status, notify
from portal.money import Money
from portal.operations import Refused, operation, reading
from portal.outbox.service import publish
from portal.payments import applying, charges, rules
from portal.payments.gateway import CardDeclined, GatewayError, IntentResult
from portal.payments.models import Payment
from portal.payments.rules import PaymentStatus as S
from portal.plans.models import (
    INSTALLMENT,
    PLAN,
    Installment,
    InstallmentStatus,
    PaymentPlan,
    PlanStatus,
)
from portal.plans.service import _message, own_plan, policy_of

log = logging.getLogger("portal.plans")

I = InstallmentStatus  # noqa: E741 short, as the payments code writes S
#: A failed charge is tried again this many days later.
RETRY_DAYS = 3
#: A reminder goes this many days before a due date (on the first run that may send it).
REMIND_DAYS = 3
JOB = Actor.system("plans-charge-due")
#: A payment that may still take money: an installment linked to one is not charged again.
BUSY = (S.CREATED, S.SUBMITTING, S.PENDING, S.REQUIRES_ACTION)
IN_FLIGHT = charges.IN_FLIGHT
#: While one of these holds is live on the account (or the borrower), collection stops: the job
#: neither charges nor breaks the plan; when it ends, the grace days count from then.
STOPS_COLLECTION = frozenset({
    "us.bankruptcy-stay", "us.dispute-pending-verification", "us.identity-theft",
    "us.cease-communication", "uk.breathing-space", "uk.mental-health-crisis", "uk.dispute",
    "policy.dispute-outside-validation"})


def _held(plan: PaymentPlan) -> bool:
    return any(h.rule in STOPS_COLLECTION
               for h in contact.live_holds(plan.borrower_id, plan.account_id))


def _resumed_on(plan: PaymentPlan) -> date | None:
    """When collection last resumed: the latest end of a hold that stopped it."""
    ended = db.session.scalar(select(func.max(ContactHold.ended_at)).where(
        ContactHold.borrower_id == plan.borrower_id, ContactHold.rule.in_(STOPS_COLLECTION),
        ContactHold.ended_at.is_not(None),
        or_(ContactHold.account_id.is_(None), ContactHold.account_id == plan.account_id)))
    return ended.date() if ended else None


def next_unpaid(plan: PaymentPlan) -> Installment | None:
    return next((i for i in plan.installments if i.status != I.PAID), None)


def _linked(installment: Installment) -> Payment | None:
    if installment.payment_id is None:
        return None
    return db.session.get(Payment, installment.payment_id)


def _succeeded(installment: Installment) -> bool:
    """Its payment has succeeded: it is paid, though settle_installments may not have said so."""
    payment = _linked(installment)
    return installment.status != I.PAID and payment is not None and payment.status == S.SUCCEEDED


def _amount_due(plan: PaymentPlan, installment: Installment, payable: int) -> int | None:
    """What to charge for the installment now, or None to postpone it. A settlement is charged
    exactly what was agreed (the creditor waives the rest only then), never less; another plan's
    installment at most what is still owed."""
    if plan.kind == "settlement":
        return installment.amount_minor if payable >= installment.amount_minor else None
    return min(installment.amount_minor, payable)


def _busy(installment: Installment) -> bool:
    if installment.status == I.PROCESSING:
        return True
    payment = _linked(installment)
    return payment is not None and payment.status in (*BUSY, S.SUCCEEDED)


def _settle_if_succeeded(plan: PaymentPlan, installment: Installment) -> str | None:
    """A linked payment that succeeded pays the installment now, as settle_installments would
    (in the caller's transaction, with the plan and installment locked)."""
    if not _succeeded(installment):
        return None
    return _mark_paid(plan, installment, _linked(installment))


def payable_installment(plan: PaymentPlan) -> Installment | None:
    """The installment the borrower can pay by hand now: the next unpaid one, unless a payment
    for it is already under way (one whose payment succeeded counts as paid)."""
    if plan.status != PlanStatus.ACTIVE:
        return None
    installment = next((i for i in plan.installments
                        if i.status != I.PAID and not _succeeded(i)), None)
    if installment is None or installment.status == I.PROCESSING:
        return None
    if installment.payment_id is not None:
        status = db.session.get(Payment, installment.payment_id).status
        if status in IN_FLIGHT:
            return None
    return installment


def active_plan(account_id: int, borrower_id: int) -> PaymentPlan | None:
    return db.session.scalar(select(PaymentPlan).where(
        PaymentPlan.account_id == account_id, PaymentPlan.borrower_id == borrower_id,
        PaymentPlan.status == PlanStatus.ACTIVE).order_by(PaymentPlan.id.desc()).limit(1))


# --- by hand ---------------------------------------------------------------------------------


@operation
def start_installment_payment(borrower_id: int, number: str) -> Payment:
    """A card payment for the plan's next installment (no charge yet: the card page follows).
    The same checks as any payment the borrower starts: an open account, an amount the balance
    allows; the payment is linked to the installment, which is paid once the payment succeeds."""
    plan = own_plan(borrower_id, number, lock=True)
    if plan.status != PlanStatus.ACTIVE:
        raise Refused(_("This plan is not active."), status=409)
    account = db.session.get(Account, plan.account_id, with_for_update=True)
    if account.status != AccountStatus.OPEN:
        raise Refused(_("This account is not open for payments."))
    installment = next_unpaid(plan)
    while installment is not None and _settle_if_succeeded(plan, installment):
        installment = next_unpaid(plan)  # its payment had succeeded: paid now, never twice
    if plan.status != PlanStatus.ACTIVE or installment is None:
        raise Refused(_("Every installment of this plan is paid."), status=409)
    if installment.payment_id is not None:
        earlier = db.session.get(Payment, installment.payment_id)
        if earlier.status == S.CREATED and earlier.borrower_id == borrower_id:
            return earlier  # the card page it was started for, again
        if earlier.status in IN_FLIGHT:
            raise Refused(_("A payment for this installment is already being processed."),
                          status=409)
    if installment.status == I.PROCESSING:
        raise Refused(_("A payment for this installment is already being processed."),
                      status=409)
    payable = charges.payable(account)
    amount = _amount_due(plan, installment, payable)
    if amount is None or rules.check_amount(amount, payable, account.currency,
                                            account.creditor.allow_overpayment):
        raise Refused(_("This installment cannot be paid by card now; please contact us."))
    payment = charges.new_payment(account, borrower_id, amount, "installment")
    installment.payment_id = payment.id
    return payment


# --- the job ---------------------------------------------------------------------------------


def charge_due(today: date | None = None, now: datetime | None = None) -> dict[str, int]:
    """One run of `plans.charge_due`: settle what Stripe decided, charge what is due, break the
    plans past their grace days, send the reminders due. `today` (the date installments are due
    by) and `now` (the instant the contact rules are asked about) move the clock in tests; what
    happens is recorded at the time it happens. Without `today`, each borrower's own date at
    `now` (local_today) decides what is due and what is late."""
    now = now or datetime.now(UTC)
    latest = today or now.date() + timedelta(days=1)  # no borrower's date is later
    counts: Counter[str] = Counter()
    counts.update(settle_installments(now, today))
    for installment_id in due_installments(latest):
        _look_again(installment_id, today, now)
        claim = _claim(installment_id, today, now)
        if claim is None:
            counts["skipped"] += 1
            continue
        if isinstance(claim, str):
            counts[claim] += 1
            continue
        counts[_charge(claim, claim.on, now)] += 1
    counts.update(settle_installments(now, today))
    counts["broken"] += break_overdue(today, now)
    counts["reminded"] += remind(today or now.date(), now)
    return {k: v for k, v in counts.items() if v}


def _due_condition(today: date):
    return and_(Installment.due_on <= today, or_(
        Installment.status == I.SCHEDULED,
        and_(Installment.status == I.FAILED, Installment.next_attempt_on <= today)))


def _autopay_plan():
    return and_(PaymentPlan.status == PlanStatus.ACTIVE, PaymentPlan.autopay.is_(True),
                PaymentPlan.payment_method_id.is_not(None))


def due_installments(today: date) -> list[int]:
    with reading("due_installments"):
        return list(db.session.scalars(
            select(Installment.id).join(PaymentPlan, PaymentPlan.id == Installment.plan_id)
            .where(_autopay_plan(), _due_condition(today))
            .order_by(Installment.due_on, Installment.id)))


def _local(plan: PaymentPlan, today: date | None, now: datetime | None) -> date:
    """The date that counts for the plan: the one given (tests, the command line), else the
    borrower's own date."""
    if today is not None:
        return today
    return local_today(db.session.get(Borrower, plan.borrower_id), now or datetime.now(UTC))


def _look_again(installment_id: int, today: date | None, now: datetime | None = None) -> None:
    """An installment whose last charge had an unknown outcome and was then canceled by the
    payments reconciliation (it found no PaymentIntent) is looked up at Stripe once more before
    it is charged anew: a charge found after all decides the installment. (Charged anew, it
    reuses that attempt's idempotency key: see _settle_one.)"""
    with reading("_look_again"):
        row = db.session.execute(
            select(Payment.public_id, Payment.created_at)
            .join(Installment, Installment.payment_id == Payment.id)
            .where(Installment.id == installment_id, Payment.status == S.CANCELED,
                   Installment.status != I.PROCESSING)).first()
    if row is None:
        return
    try:
        found = charges.find_charge(row.public_id, row.created_at)
    except GatewayError as exc:
        log.warning("installment %s: look-up postponed: %s", installment_id, exc)
        return
    if found is not None:
        _found_again(installment_id, found, today, now)


@operation
def _found_again(installment_id: int, found: IntentResult, today: date | None,
                 now: datetime | None = None) -> None:
    installment = db.session.get(Installment, installment_id)
    plan = db.session.get(PaymentPlan, installment.plan_id, with_for_update=True)
    db.session.refresh(installment, with_for_update=True)
    payment = applying.apply_intent(found, JOB)
    if installment.payment_id != payment.id or installment.status in (I.PAID, I.PROCESSING):
        return
    installment.attempts += 1  # that attempt's outcome is known after all
    if payment.status in IN_FLIGHT:
        INSTALLMENT.move(installment, I.PROCESSING)
    elif payment.status == S.FAILED:
        _installment_failed(plan, installment, _local(plan, today, now), payment.failure_message,
                            now)
    # succeeded: the claim that follows settles it


@dataclass(frozen=True)
class Claim:
    installment_id: int
    attempt: int
    payment_id: int
    payment_key: str
    amount: int
    currency: str
    customer: str
    payment_method: str
    #: The date it was due by (the borrower's own).
    on: date

    @property
    def idempotency_key(self) -> str:
        return f"installment:{self.installment_id}:attempt:{self.attempt}"


@operation
def _claim(installment_id: int, today: date | None,
           now: datetime | None = None) -> Claim | str | None:
    """Take one due installment (its plan, then itself, locked; skipped if another worker holds
    either) and write its Payment row, committed before Stripe is asked. One whose linked payment
    has already succeeded is settled instead ("paid" or "completed")."""
    plan_id = db.session.scalar(select(Installment.plan_id).where(Installment.id == installment_id))
    plan = db.session.scalar(select(PaymentPlan).where(PaymentPlan.id == plan_id, _autopay_plan())
                             .with_for_update(skip_locked=True))
    if plan is None or _held(plan):
        return None  # a hold stops collection: charged once it ends
    today = _local(plan, today, now)
    installment = db.session.scalar(
        select(Installment).where(Installment.id == installment_id, _due_condition(today))
        .with_for_update(skip_locked=True))
    if installment is None:
        return None
    settled = _settle_if_succeeded(plan, installment)
    if settled:
        return settled  # its payment had succeeded: paid now, not charged again
    if _busy(installment):
        return None
    account = db.session.get(Account, plan.account_id, with_for_update=True)
    payable = charges.payable(account)
    amount = _amount_due(plan, installment, payable)
    if account.status != AccountStatus.OPEN or amount is None or amount <= 0:
        return None
    installment.attempts += 1
    INSTALLMENT.move(installment, I.PROCESSING)
    payment = charges.new_payment(account, plan.borrower_id, amount, "installment",
                                  status=S.SUBMITTING)
    installment.payment_id = payment.id
    return Claim(installment.id, installment.attempts, payment.id, str(payment.public_id),
                 amount, payment.currency, plan.stripe_customer_id, plan.payment_method_id, today)


def _charge(claim: Claim, today: date, now: datetime | None = None) -> str:
    try:
        result = charges.charge_off_session(claim.payment_key, claim.amount, claim.currency,
                                            claim.customer, claim.payment_method,
                                            claim.idempotency_key)
    except CardDeclined as exc:
        _failed(claim, _declined_result(claim, exc.intent, exc.message), today, now)
        return "failed"
    except GatewayError as exc:
        # Stripe may or may not have charged: the payment stays `submitting` and the payments
        # reconciliation finds out; the installment follows its payment (settle_installments).
        log.warning("installment %s: charge outcome unknown: %s", claim.installment_id, exc)
        return "unknown"
    if result.status in ("succeeded", "processing"):
        _submitted(claim, result)
        return "charged"
    # Anything else needs the cardholder (authentication), who is not here: a failed attempt.
    _failed(claim, _declined_result(claim, result, _(
        "Your bank asked to confirm this payment. Please pay it yourself in the portal.")), today,
        now)
    return "failed"


def _declined_result(claim: Claim, intent: IntentResult | None, message: str) -> IntentResult:
    if intent is not None:
        return replace(intent, status="requires_payment_method", failure_message=message)
    return IntentResult(id=None, status="requires_payment_method", client_secret=None,
                        charge_id=None, amount=claim.amount, currency=claim.currency,
                        payment_id=claim.payment_key, failure_message=message)


@operation
def _submitted(claim: Claim, result: IntentResult) -> None:
    """Stripe took the charge: the payment waits for its webhook, as every card payment does."""
    charges.submitted(db.session.get(Payment, claim.payment_id, with_for_update=True), result,
                      JOB, installment=claim.installment_id, attempt=claim.attempt)


@operation
def _failed(claim: Claim, result: IntentResult, today: date, now: datetime | None = None) -> None:
    installment = db.session.get(Installment, claim.installment_id)
    plan = db.session.get(PaymentPlan, installment.plan_id, with_for_update=True)
    db.session.refresh(installment, with_for_update=True)
    applying.apply_intent(result, JOB)  # the payment failed: its own event and webhook
    if installment.status == I.PROCESSING:
        _installment_failed(plan, installment, today, result.failure_message, now)


def _installment_failed(plan: PaymentPlan, installment: Installment, today: date,
                        reason: str | None, now: datetime | None = None) -> None:
    INSTALLMENT.move(installment, I.FAILED)
    installment.next_attempt_on = today + timedelta(days=RETRY_DAYS)
    facts = {"installment": installment.number, "due_on": installment.due_on.isoformat(),
             "amount_minor": installment.amount_minor, "attempt": installment.attempts,
             "next_attempt_on": installment.next_attempt_on.isoformat(), "reason": reason}
    event = record(JOB, EventKind.INSTALLMENT_FAILED, borrower_id=plan.borrower_id,
                   account_id=plan.account_id, data={"plan": plan.number, **facts})
    publish("plan.installment_failed", _message(plan, **facts),
            account_ref=plan.account.reference, case_event_id=event.id)
    _tell(plan, messages.installment_failed(plan.number, _amount(plan, installment),
                                            installment.due_on, installment.next_attempt_on),
          now or datetime.now(UTC))


# --- what Stripe decided ---------------------------------------------------------------------


def settle_installments(now: datetime | None = None,
                        today: date | None = None) -> dict[str, int]:
    """Installments whose payment Stripe has decided: a success pays the installment (and may
    complete the plan); an autopay charge that failed later fails it; one never charged (the
    reconciliation cancelled it) is due again."""
    now = now or datetime.now(UTC)
    with reading("settle_installments"):
        ids = list(db.session.scalars(
            select(Installment.id).join(Payment, Payment.id == Installment.payment_id)
            .join(PaymentPlan, PaymentPlan.id == Installment.plan_id)
            .where(PaymentPlan.status.in_([PlanStatus.ACTIVE, PlanStatus.BROKEN]),
                   Installment.status != I.PAID,
                   or_(Payment.status == S.SUCCEEDED,
                       and_(Installment.status == I.PROCESSING,
                            Payment.status.in_([S.FAILED, S.CANCELED]))))
            .order_by(Installment.plan_id, Installment.number)))
    counts: Counter[str] = Counter()
    for installment_id in ids:
        outcome = _settle_one(installment_id, now, today)
        if outcome:
            counts[outcome] += 1
    return dict(counts)


@operation
def _settle_one(installment_id: int, now: datetime, today: date | None) -> str | None:
    plan_id = db.session.scalar(select(Installment.plan_id).where(Installment.id == installment_id))
    plan = db.session.scalar(select(PaymentPlan).where(PaymentPlan.id == plan_id)
                             .with_for_update(skip_locked=True))
    installment = db.session.scalar(select(Installment).where(Installment.id == installment_id)
                                    .with_for_update(skip_locked=True))
    if plan is None or installment is None or installment.status == I.PAID:
        return None
    payment = db.session.get(Payment, installment.payment_id)
    if payment.status == S.SUCCEEDED:
        return _mark_paid(plan, installment, payment)
    if installment.status != I.PROCESSING:
        return None
    if payment.status == S.FAILED:
        _installment_failed(plan, installment, _local(plan, today, now), payment.failure_message,
                            now)
        return "failed"
    # Never charged, as far as Stripe could tell: due again at the next run, as it was, and
    # with the same attempt's idempotency key (only a confirmed decline moves to the next).
    _due_again(installment)
    installment.attempts = max(installment.attempts - 1, 0)
    return "requeued"


def _due_again(installment: Installment) -> None:
    """Due again as it was: failed (with its retry date) if a charge had failed, else scheduled."""
    again = I.FAILED if installment.next_attempt_on else I.SCHEDULED
    if installment.status != again:
        INSTALLMENT.move(installment, again)


def _mark_paid(plan: PaymentPlan, installment: Installment, payment: Payment) -> str:
    """The installment's payment succeeded: the installment is paid (its event and message), and
    the plan completed if it was the last. A payment short of the installment's amount does not
    pay it: the plan is completed if the account owes nothing any more, otherwise the
    installment is due again."""
    if payment.amount_minor < installment.amount_minor:
        account = db.session.get(Account, plan.account_id, with_for_update=True)
        if plan.status == PlanStatus.ACTIVE and \
                ledger.balance_of(account.id, account.currency).minor <= 0:
            _complete(plan, waive_rest=False)
            return "completed"
        log.warning("plan %s: installment %s: payment %s is short of its amount", plan.number,
                    installment.number, payment.public_id)
        installment.payment_id = None
        _due_again(installment)
        return "requeued"
    INSTALLMENT.move(installment, I.PAID)
    installment.paid_at = payment.succeeded_at or datetime.now(UTC)
    installment.next_attempt_on = None
    facts = {"installment": installment.number, "due_on": installment.due_on.isoformat(),
             "amount_minor": payment.amount_minor, "payment": str(payment.public_id)}
    event = record(JOB, EventKind.INSTALLMENT_PAID, borrower_id=plan.borrower_id,
                   account_id=plan.account_id, data={"plan": plan.number, **facts})
    publish("plan.installment_paid", _message(plan, **facts),
            account_ref=plan.account.reference, case_event_id=event.id)
    if plan.status == PlanStatus.ACTIVE and all(i.status == I.PAID for i in plan.installments):
        if plan.kind == "settlement" and _paid_in(plan) < plan.total_minor:
            log.warning("plan %s: settlement paid short of its total", plan.number)
            return "paid"  # the rest is waived only once the agreed amount is in
        _complete(plan)
        return "completed"
    return "paid"


def _paid_in(plan: PaymentPlan) -> int:
    """What the plan's installments' payments have brought in."""
    return int(db.session.scalar(select(func.coalesce(func.sum(Payment.amount_minor), 0))
                                 .join(Installment, Installment.payment_id == Payment.id)
                                 .where(Installment.plan_id == plan.id,
                                        Payment.status == S.SUCCEEDED)))


def _complete(plan: PaymentPlan, waive_rest: bool = True) -> None:
    """Every installment paid. A settlement's remainder is credited (the creditor agreed to
    accept less), so the account reaches zero and is paid: `policy.paid-in-full` follows."""
    now = datetime.now(UTC)  # what happens is recorded when it happens, whatever the job's clock
    PLAN.move(plan, PlanStatus.COMPLETED)
    plan.ended_at = now
    account = db.session.get(Account, plan.account_id, with_for_update=True)
    credited = 0
    if plan.kind == "settlement" and waive_rest:
        credited = max(ledger.balance_of(account.id, account.currency).minor, 0)
        if credited:
            ledger.post_credit(account, credited,
                               f"Settlement of plan {plan.number}: the rest waived", JOB, now)
    event = record(JOB, EventKind.PLAN_COMPLETED, borrower_id=plan.borrower_id,
                   account_id=plan.account_id, at=now,
                   data={"plan": plan.number, "account_id": plan.account_id,
                         "credited_minor": credited, "hold_ends": [f"plan:{plan.number}"]})
    publish("plan.completed", _message(plan, credited_minor=credited),
            account_ref=account.reference, case_event_id=event.id)
    ledger.settle_status(account, JOB, now)
    contact.reconcile(db.session.get(Borrower, plan.borrower_id), JOB, now)


# --- broken plans ----------------------------------------------------------------------------


def break_overdue(today: date | None, now: datetime | None = None) -> int:
    """Active plans with an installment unpaid past the creditor's grace days are broken: the
    plan's hold ends, so collection contact may resume. A plan whose account owes nothing any
    more is completed instead, never broken. Without `today`, each borrower's own date."""
    now = now or datetime.now(UTC)
    latest = today or now.date() + timedelta(days=1)  # no borrower's date is later
    with reading("break_overdue"):
        rows = db.session.execute(
            select(PaymentPlan.id, Account.creditor_id, func.min(Installment.due_on))
            .join(Installment, Installment.plan_id == PaymentPlan.id)
            .join(Account, Account.id == PaymentPlan.account_id)
            .where(PaymentPlan.status == PlanStatus.ACTIVE, Installment.status != I.PAID,
                   Installment.due_on < latest)
            .group_by(PaymentPlan.id, Account.creditor_id)).all()
        graces = {creditor_id: policy_of(creditor_id).grace_days
                  for creditor_id in {row[1] for row in rows}}
    broken = 0
    for plan_id, creditor_id, oldest in rows:
        grace = graces[creditor_id]
        if latest > oldest + timedelta(days=grace) and _break(plan_id, today, grace, now):
            broken += 1
    return broken


@operation
def _break(plan_id: int, today: date | None, grace: int, now: datetime | None = None) -> bool:
    plan = db.session.scalar(select(PaymentPlan).where(PaymentPlan.id == plan_id)
                             .with_for_update(skip_locked=True))
    if plan is None or plan.status != PlanStatus.ACTIVE:
        return False
    for installment in plan.installments:
        _settle_if_succeeded(plan, installment)  # paid, though not yet settled: never broken
    if plan.status != PlanStatus.ACTIVE or _held(plan):
        return False  # while a hold stops collection, the plan waits
    today = _local(plan, today, now)
    resumed = _resumed_on(plan) or date.min
    late = [i for i in plan.installments if i.status != I.PAID
            and today > max(i.due_on, resumed) + timedelta(days=grace)]
    if not late or any(_busy(i) for i in late):
        return False  # a payment for it is still with Stripe: its outcome decides
    account = db.session.get(Account, plan.account_id, with_for_update=True)
    if account.status != AccountStatus.OPEN or \
            ledger.balance_of(account.id, account.currency).minor <= 0:
        # Nothing is owed any more (paid otherwise, or the account closed): the plan has done
        # its work. Its unpaid installments stay as they are; a completed plan has none due.
        _complete(plan, waive_rest=False)
        return False
    missed = late[0]
    asked_at = now or datetime.now(UTC)  # the job's clock, for the contact rules
    now = datetime.now(UTC)  # what happens is recorded when it happens
    PLAN.move(plan, PlanStatus.BROKEN)
    plan.ended_at = now
    facts = {"installment": missed.number, "due_on": missed.due_on.isoformat(),
             "grace_days": grace}
    event = record(JOB, EventKind.PLAN_BROKEN, borrower_id=plan.borrower_id,
                   account_id=plan.account_id, at=now,
                   data={"plan": plan.number, "account_id": plan.account_id, **facts,
                         "hold_ends": [f"plan:{plan.number}"]})
    publish("plan.broken", _message(plan, **facts), account_ref=plan.account.reference,
            case_event_id=event.id)
    contact.reconcile(db.session.get(Borrower, plan.borrower_id), JOB, now)
    _tell(plan, messages.plan_broken(plan.number, _amount(plan, missed), missed.due_on, grace),
          asked_at)
    return True


# --- reminders -------------------------------------------------------------------------------


def remind(today: date, now: datetime) -> int:
    """A reminder a few days before each due date, when the contact rules allow an email then
    (the plan's own hold covers calls and texts only); otherwise a later run tries again."""
    with reading("remind"):
        ids = list(db.session.scalars(
            select(Installment.id).join(PaymentPlan, PaymentPlan.id == Installment.plan_id)
            .where(PaymentPlan.status == PlanStatus.ACTIVE, Installment.status == I.SCHEDULED,
                   Installment.reminded_at.is_(None), Installment.due_on >= today,
                   Installment.due_on <= today + timedelta(days=REMIND_DAYS))
            .order_by(Installment.due_on, Installment.id)))
    return sum(1 for i in ids if _remind_one(i, today, now))


@operation
def _remind_one(installment_id: int, today: date, now: datetime) -> bool:
    installment = db.session.scalar(select(Installment).where(
        Installment.id == installment_id, Installment.reminded_at.is_(None),
        Installment.status == I.SCHEDULED).with_for_update(skip_locked=True))
    if installment is None:
        return False
    plan = installment.plan
    outcome = _tell(plan, messages.plan_reminder(plan.number, _amount(plan, installment),
                                                 installment.due_on, plan.autopay), now)
    if outcome.status in (Status.BLOCKED, Status.NO_DESTINATION):
        return False  # not now: a later run tries again
    installment.reminded_at = now
    return outcome.sent


# --- telling the borrower --------------------------------------------------------------------


def _amount(plan: PaymentPlan, installment: Installment) -> Money:
    return Money(installment.amount_minor, plan.currency)


def _tell(plan: PaymentPlan, message: messages.Message, at: datetime) -> Outcome:
    """Email the borrower about their plan through notify, as of the job's clock `at`; one the
    rules block then is not sent, and not sent later either (notify logs it)."""
    return notify(db.session.get(Borrower, plan.borrower_id), message, account=plan.account,
                  at=at)
