"""Staff refund a card payment: checked and claimed in one transaction, refunded at Stripe with
no transaction open, then applied in one more by `applying.apply_refund`, the same function
Stripe's `charge.refunded` webhook uses (so that webhook, arriving later, changes nothing).

The claim is a `staff_refund` row, `pending`, at most one per payment: a double click, or two
people at once, waits for the first and is refused. The idempotency key is made from the payment,
what it had refunded before and the amount, so asking again for the same refund after a lost
answer is the same refund at Stripe. If Stripe refuses or cannot be reached the claim is deleted:
nothing is written.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import delete, select

from portal.accounts.models import Account
from portal.agency.scope import within
from portal.cases.kinds import EventKind
from portal.cases.service import Actor, record
from portal.extensions import db
from portal.identity.models import StaffUser
from portal.identity.refusals import refusal
from portal.identity.roles import REFUND_PAYMENTS, allows
from portal.money import Money
from portal.operations import NotFound, Refused, operation, reading
from portal.payments import applying, charges
from portal.payments.gateway import GatewayError, RefundResult, gateway
from portal.payments.models import Payment, StaffRefund
from portal.payments.rules import PaymentStatus as S
from portal.web.i18n import money
from portal.words import count as word_count

log = logging.getLogger("portal.payments")

#: A reason says why in a sentence, not a word ("overpaid", "ok" are not reasons).
REASON_MIN_WORDS = 3
REASON_MAX = 2000
#: A claim older than this was left by a request that died between Stripe and us: the next
#: request takes its place (its key is the same for the same amount, so Stripe refunds once).
STALE = timedelta(minutes=10)


class RefundRefused(Refused):
    """A refusal that belongs to one field of the form (`amount`, `reason`) or to none."""

    def __init__(self, message: str, *, status: int = 422, field: str | None = None):
        super().__init__(message, status=status)
        self.field = field


@dataclass(frozen=True)
class Refundable:
    """A payment as the refund form shows it: what was paid, refunded and may still be."""

    public_id: uuid.UUID
    receipt_number: str
    account_ref: str
    creditor: str
    amount: Money
    refunded: Money
    charged_back: Money
    room: Money
    succeeded_at: datetime | None

    @property
    def refunded_minor(self) -> int:
        return self.refunded.minor


def _room(payment: Payment) -> int:
    return payment.amount_minor - payment.refunded_minor - payment.charged_back_minor


def _payment(agency_id: int, public_id, reference: str | None = None, *,
             lock: bool = False) -> Payment:
    """The agency's payment by its public id (on `reference`'s account when given); another
    agency's, a malformed id or none at all is not found."""
    try:
        key = public_id if isinstance(public_id, uuid.UUID) else uuid.UUID(str(public_id))
    except ValueError:
        raise NotFound() from None
    query = select(Payment).where(Payment.public_id == key,
                                  within(agency_id, Payment.account_id))
    if reference is not None:
        query = query.join(Account, Account.id == Payment.account_id).where(
            Account.reference == reference)
    payment = db.session.scalar(query.with_for_update(of=Payment) if lock else query)
    if payment is None:
        raise NotFound()
    return payment


def refundable(agency_id: int, reference: str | None, public_id) -> Refundable:
    """What the refund form shows (call inside a read)."""
    payment = _payment(agency_id, public_id, reference)
    money = lambda minor: Money(minor, payment.currency)  # noqa: E731
    return Refundable(
        public_id=payment.public_id, receipt_number=payment.receipt_number,
        account_ref=payment.account.reference, creditor=payment.account.creditor.name,
        amount=payment.money, refunded=money(payment.refunded_minor),
        charged_back=money(payment.charged_back_minor),
        room=money(max(_room(payment), 0) if payment.status == S.SUCCEEDED else 0),
        succeeded_at=payment.succeeded_at)


def _reason(text: str | None) -> str:
    words = " ".join((text or "").split())
    if word_count(words) < REASON_MIN_WORDS:
        raise RefundRefused(_("Say why in a few words (at least %(n)d), for the case record.",
                              n=REASON_MIN_WORDS), field="reason")
    if len(words) > REASON_MAX:
        raise RefundRefused(_("Please keep it under %(n)d characters.", n=REASON_MAX),
                            field="reason")
    return words


@dataclass(frozen=True)
class _Claim:
    refund_id: int
    payment_id: int
    public_id: str
    charge_id: str
    refunded_before: int
    amount_minor: int
    reason: str

    @property
    def idempotency_key(self) -> str:
        return f"{self.public_id}:refund:{self.refunded_before}:{self.amount_minor}"


@operation
def _claim(staff: StaffUser, public_id, amount: Money, reason: str, reference: str | None,
           seen_refunded: int | None) -> _Claim:
    """Check everything, then hold the payment's one refund slot (committed before Stripe)."""
    if not allows(staff.role, REFUND_PAYMENTS):
        raise RefundRefused(refusal(staff.role, REFUND_PAYMENTS), status=403)
    payment = _payment(staff.agency_id, public_id, reference, lock=True)
    if payment.status != S.SUCCEEDED:
        raise RefundRefused(_("Only a payment that went through can be refunded."), status=409)
    if not payment.charge_id:
        raise RefundRefused(_("The card processor has not told us this payment's charge yet: "
                              "try again in a few minutes."), status=409)
    if amount.currency != payment.currency:
        raise RefundRefused(_("Give the amount in %(currency)s.", currency=payment.currency),
                            field="amount")
    if seen_refunded is not None and seen_refunded != payment.refunded_minor:
        raise RefundRefused(_("This payment was refunded since you opened the page: check "
                              "what is left to refund and try again."), status=409)
    room = _room(payment)
    if amount.minor <= 0:
        raise RefundRefused(_("The amount must be more than zero."), field="amount")
    if amount.minor > room:
        raise RefundRefused(_("At most %(room)s of this payment can still be refunded.",
                              room=money(Money(max(room, 0), payment.currency))), field="amount")
    now = datetime.now(UTC)
    # The payment row is locked: a second click waits here for the first's commit, then finds
    # its claim (the unique index on pending claims backs this).
    under_way = db.session.scalar(select(StaffRefund).where(
        StaffRefund.payment_id == payment.id, StaffRefund.status == "pending"))
    if under_way is not None and under_way.created_at >= now - STALE:
        raise RefundRefused(_("A refund of this payment is already under way: check the "
                              "payment list in a moment."), status=409)
    if under_way is not None:  # left by a request that died after claiming
        db.session.delete(under_way)
        db.session.flush()
    row = StaffRefund(payment_id=payment.id, staff_id=staff.id, amount_minor=amount.minor,
                      currency=payment.currency, refunded_before=payment.refunded_minor,
                      reason=reason, status="pending", created_at=now)
    db.session.add(row)
    db.session.flush()
    return _Claim(row.id, payment.id, str(payment.public_id), payment.charge_id,
                  payment.refunded_minor, amount.minor, reason)


@operation
def _release(claim: _Claim) -> None:
    """Stripe made no refund: the claim goes, and with it every trace of the request."""
    db.session.execute(delete(StaffRefund).where(StaffRefund.id == claim.refund_id,
                                                 StaffRefund.status == "pending"))


@operation
def _apply(staff: StaffUser, claim: _Claim, result: RefundResult, source: str | None) -> Payment:
    """Stripe refunded: reverse it on the ledger (as the webhook would), and record who and why."""
    actor = Actor("staff", str(staff.id), source)
    payment = db.session.get(Payment, claim.payment_id)
    # Cumulative, as Stripe's charge says it: what we had when asked, and this refund.
    payment = applying.apply_refund({
        "id": result.charge_id, "payment_intent": result.payment_intent or
        payment.payment_intent_id, "amount_refunded": claim.refunded_before + result.amount,
        "metadata": {"payment_id": claim.public_id}}, actor)
    row = db.session.get(StaffRefund, claim.refund_id, with_for_update=True)
    if row is None:  # taken over as stale meanwhile: Stripe refunded, so it is kept all the same
        row = StaffRefund(payment_id=payment.id, staff_id=staff.id,
                          amount_minor=claim.amount_minor, currency=payment.currency,
                          refunded_before=claim.refunded_before, reason=claim.reason,
                          created_at=datetime.now(UTC))
        db.session.add(row)
    row.status, row.stripe_refund_id, row.done_at = "done", result.id, datetime.now(UTC)
    db.session.flush()
    record(actor, EventKind.PAYMENT_REFUND_ISSUED, borrower_id=payment.borrower_id,
           account_id=payment.account_id,
           data=dict(charges.facts(payment), refund=row.id, refunded_minor=result.amount,
                     stripe_refund=result.id, role=staff.role))
    return payment


def refund(staff: StaffUser, public_id, amount: Money, reason: str | None, *,
           reference: str | None = None, seen_refunded: int | None = None,
           source: str | None = None) -> Payment:
    """Refund `amount` of one of the agency's card payments at Stripe, with a reason; a
    Refused (nothing written, Stripe not called) when it may not be, a Refused with 503 when
    Stripe made no refund. `seen_refunded` is what the form showed as refunded already: a second
    submit of the same form is refused instead of refunding twice."""
    if not allows(staff.role, REFUND_PAYMENTS):  # before anything about the request
        raise RefundRefused(refusal(staff.role, REFUND_PAYMENTS), status=403)
    words = _reason(reason)
    claim = _claim(staff, public_id, amount, words, reference, seen_refunded)
    try:
        result = gateway().refund(claim.charge_id, claim.amount_minor, claim.idempotency_key,
                                  claim.public_id)
    except GatewayError as exc:
        log.warning("payment %s: refund not made: %s", claim.payment_id, exc)
        _release(claim)
        raise RefundRefused(_("The card processor did not make the refund (it could not be "
                              "reached or refused it). Nothing was refunded or recorded: try "
                              "again in a few minutes."), status=503) from None
    if result.amount != claim.amount_minor:
        log.error("payment %s: Stripe refunded %s, we asked for %s", claim.payment_id,
                  result.amount, claim.amount_minor)
    return _apply(staff, claim, result, source)


def staff_refunds(payment_ids: list[int]) -> dict[int, list[StaffRefund]]:
    """The refunds staff gave of these payments, oldest first, by payment (for the case page)."""
    found: dict[int, list[StaffRefund]] = {}
    if not payment_ids:
        return found
    for row in db.session.scalars(select(StaffRefund).where(
            StaffRefund.payment_id.in_(payment_ids), StaffRefund.status == "done")
            .order_by(StaffRefund.created_at, StaffRefund.id)):
        found.setdefault(row.payment_id, []).append(row)
    return found


def find_for_cli(staff_email: str, receipt: str) -> tuple[StaffUser, uuid.UUID]:
    """The staff user by email and their agency's payment by receipt number (for the CLI)."""
    with reading("refund lookup"):
        staff = db.session.scalar(select(StaffUser).where(StaffUser.email == staff_email.lower()))
        if staff is None:
            raise NotFound("staff")
        digits = receipt.strip().upper().removeprefix("R-").replace("-", "")
        if len(digits) != 16 or any(c not in "0123456789ABCDEF" for c in digits):
            raise NotFound("receipt")
        # The receipt number is the public id's first 64 bits: one range of the unique index.
        payment = db.session.scalar(select(Payment).where(
            Payment.public_id.between(uuid.UUID(digits + "0" * 16),
                                      uuid.UUID(digits + "F" * 16)),
            within(staff.agency_id, Payment.account_id)))
        if payment is None:
            raise NotFound("receipt")
        db.session.expunge(staff)
        return staff, payment.public_id
