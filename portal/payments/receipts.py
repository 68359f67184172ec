"""Receipts: one set of facts, shown as a page, emailed, and downloadable as a PDF."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal import pdf
from portal.accounts import ledger
from portal.accounts.models import Borrower
from portal.extensions import db
from portal.messaging import messages
from portal.messaging.notify import About, notify, notify_many
from portal.money import Money
from portal.payments.models import Payment

log = logging.getLogger("portal.payments")


@dataclass(frozen=True)
class Receipt:
    number: str
    amount: Money
    paid_at: datetime  # in the borrower's own zone
    account_ref: str
    creditor: str
    remaining: Money
    stripe_reference: str
    card: str | None
    refunded: Money
    charged_back: Money


def _zone(borrower: Borrower) -> ZoneInfo:
    address = borrower.mailing_address
    return ZoneInfo(address.time_zones[0] if address and address.time_zones else "UTC")


def _balance_after(payment: Payment) -> Money:
    """The balance as this payment left it (entries up to its own), not today's."""
    return ledger.balance_after_payment(payment.account_id, payment.id, payment.currency)


def receipt_of(payment: Payment) -> Receipt:
    borrower = db.session.get(Borrower, payment.borrower_id)
    account = payment.account
    card = (f"{(payment.card_brand or 'card').title()} •••• {payment.card_last4}"
            if payment.card_last4 else None)
    return Receipt(
        number=payment.receipt_number, amount=payment.money,
        paid_at=payment.succeeded_at.astimezone(_zone(borrower)),
        account_ref=account.reference, creditor=account.creditor.name,
        remaining=_balance_after(payment),
        stripe_reference=payment.stripe_reference or "", card=card,
        refunded=Money(payment.refunded_minor, payment.currency),
        charged_back=Money(payment.charged_back_minor, payment.currency),
    )


def lines(receipt: Receipt, locale: str) -> list[tuple[str, str]]:
    zone = receipt.paid_at.tzinfo
    when = (f"{format_date(receipt.paid_at, 'long', locale=locale)}, "
            f"{format_time(receipt.paid_at, 'short', tzinfo=zone, locale=locale)} "
            f"{receipt.paid_at.tzname()}")
    rows = [
        (_("Receipt number"), receipt.number),
        (_("Amount paid"), receipt.amount.format(locale)),
        (_("Paid on"), when),
        (_("Account"), receipt.account_ref),
        (_("Creditor"), receipt.creditor),
        (_("Balance after this payment"), receipt.remaining.format(locale)),
        (_("Card processor reference"), receipt.stripe_reference),
    ]
    if receipt.card:
        rows.insert(3, (_("Paid with"), receipt.card))
    if receipt.refunded:
        rows.append((_("Refunded"), receipt.refunded.format(locale)))
    return rows


def email_receipt(payment: Payment) -> bool:
    """Email the receipt in the payment's transaction, if the contact rules let it go; failing to
    send never undoes the payment."""
    borrower = db.session.get(Borrower, payment.borrower_id)
    receipt = receipt_of(payment)
    message = messages.payment_receipt(receipt.number, lambda locale: lines(receipt, locale))
    return notify(borrower, message, account=payment.account).sent


def email_receipts(payments: list[Payment]) -> int:
    """`email_receipt` for the payments a batch of Stripe events posted, in the batch's
    transaction: judged, rendered and recorded as `notify` does it (`notify_many`), in a few
    statements for them all; never raises, and failing to send never undoes a payment. Two
    receipts about one account go in separate calls, so the rules count the first as a contact
    when judging the second. Returns how many were sent."""
    sent = 0
    waiting = list(payments)
    while waiting:
        group, later, accounts = [], [], set()
        for payment in waiting:
            (later if payment.account_id in accounts else group).append(payment)
            accounts.add(payment.account_id)
        waiting = later
        try:
            with db.session.begin_nested():
                # One read for them all, held here: the session keeps them only while in use.
                borrowers = db.session.scalars(select(Borrower).where(
                    Borrower.id.in_({p.borrower_id for p in group}))
                    .options(selectinload(Borrower.contact_points))).all()
                items = []
                for payment in group:
                    receipt = receipt_of(payment)
                    items.append(About(payment.account, messages.payment_receipt(
                        receipt.number, lambda locale, r=receipt: lines(r, locale))))
                outcomes = notify_many(items, "email", datetime.now(UTC))
                del borrowers
        except Exception as exc:  # noqa: BLE001 - the payments stand without their receipts
            log.warning("%d receipt emails not sent: %s", len(group), type(exc).__name__)
            continue
        sent += sum(outcome.sent for outcome in outcomes)
    return sent


def pdf_of(receipt: Receipt, locale: str) -> bytes:
    """The receipt as a one-page PDF (amounts with ISO codes: its built-in font lacks signs), in
    Noto Sans CJK (embedded) when the borrower reads Chinese."""
    title = _("Payment receipt")
    plain = {_("Amount paid"): str(receipt.amount),
             _("Paid on"): receipt.paid_at.strftime("%Y-%m-%d %H:%M %Z"),
             _("Balance after this payment"): str(receipt.remaining),
             _("Refunded"): str(receipt.refunded)}
    rows = [(label, plain.get(label, value)) for label, value in lines(receipt, locale)]
    footer = _("We never charge a fee for paying online.")
    document = pdf.document(f"{title} {receipt.number}")
    words = "\n".join([title, footer, *(f"{label} {value}" for label, value in rows)])
    face = pdf.face_for(document, words) or pdf.HELVETICA
    document.add_page()
    face.set(document, bold=True, size=18)
    document.cell(0, 12, face.text(title), new_x="LMARGIN", new_y="NEXT")
    for label, value in rows:
        face.set(document, bold=True, size=11)
        document.cell(70, 8, face.text(label))
        face.set(document, size=11)
        document.cell(0, 8, face.text(value), new_x="LMARGIN", new_y="NEXT")
    document.ln(6)
    document.multi_cell(0, 6, face.text(footer))
    return bytes(document.output())
