"""Reading a reconciliation (the page, the statements' close gate) and explaining a difference:
a supervisor's reason, kept with the amount it explains and written in the staff audit log."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

from flask_babel import gettext as _
from sqlalchemy import select

from portal.extensions import db
from portal.identity.audit import AuditKind, audit
from portal.identity.models import StaffUser
from portal.identity.roles import EXPLAIN_DIFFERENCES, allows
from portal.money import Money
from portal.operations import NotFound, Refused, operation
from portal.payments.models import Payment
from portal.reconcile.matching import OPEN, Outcome
from portal.reconcile.models import (
    ReconciliationExplanation,
    ReconciliationItem,
    ReconciliationRun,
)
from portal.reconcile.period import Period
from portal.words import count as word_count

#: An explanation's length: enough to say why, short enough to read on the page.
MIN_WORDS, MAX_CHARS = 3, 2000
#: The open items a page lists at most (the counts and sums cover them all).
LISTED = 500


@dataclass
class Line:
    """An open item as the page shows it, with its payment's receipt and its explanation."""

    item: ReconciliationItem
    receipt: str | None
    explanation: ReconciliationExplanation | None

    @property
    def explained(self) -> bool:
        return self.explanation is not None and \
            self.explanation.difference_minor == _difference(self.item)


@dataclass
class Review:
    """A month's reconciliation: counts and sums of what matched, and every open item."""

    run: ReconciliationRun
    #: (category, currency) -> [count, Stripe's sum, fees, net], of matched items.
    matched: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    lines: list[Line] = field(default_factory=list)
    open_count: int = 0


def _difference(item: ReconciliationItem) -> int:
    return (item.stripe_minor or 0) - (item.ours_minor or 0)


def _run(agency_id: int, period: Period) -> ReconciliationRun | None:
    return db.session.scalar(select(ReconciliationRun).where(
        ReconciliationRun.agency_id == agency_id,
        ReconciliationRun.period == period.first_day))


def _explanations(agency_id: int, period: Period) -> dict[str, ReconciliationExplanation]:
    """The latest explanation of each item of the month."""
    latest = {}
    for row in db.session.scalars(select(ReconciliationExplanation).where(
            ReconciliationExplanation.agency_id == agency_id,
            ReconciliationExplanation.period == period.first_day)
            .order_by(ReconciliationExplanation.at, ReconciliationExplanation.id)):
        latest[row.key] = row
    return latest


def review(agency_id: int, period: Period) -> Review | None:
    """The month as the reconciliation page shows it (None: never run)."""
    run = _run(agency_id, period)
    if run is None:
        return None
    found = Review(run)
    sums: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for category, currency, count, amount, fee, net in db.session.execute(
            select(ReconciliationItem.category, ReconciliationItem.currency,
                   db.func.count(), db.func.sum(ReconciliationItem.stripe_minor),
                   db.func.sum(ReconciliationItem.fee_minor),
                   db.func.sum(ReconciliationItem.net_minor))
            .where(ReconciliationItem.run_id == run.id,
                   ReconciliationItem.outcome == Outcome.MATCHED)
            .group_by(ReconciliationItem.category, ReconciliationItem.currency)
            .order_by(ReconciliationItem.category, ReconciliationItem.currency)):
        sums[(category, currency)] = [count, int(amount or 0), int(fee or 0), int(net or 0)]
    found.matched = dict(sums)
    explanations = _explanations(agency_id, period)
    open_items = select(ReconciliationItem).where(ReconciliationItem.run_id == run.id,
                                                  ReconciliationItem.outcome.in_(OPEN))
    found.open_count = db.session.scalar(select(db.func.count()).select_from(
        open_items.subquery()))
    rows = db.session.execute(
        open_items.add_columns(Payment.public_id)
        .outerjoin(Payment, Payment.id == ReconciliationItem.payment_id)
        .order_by(ReconciliationItem.outcome, ReconciliationItem.occurred_at,
                  ReconciliationItem.key).limit(LISTED))
    for item, public_id in rows:
        receipt = Payment(public_id=public_id).receipt_number if public_id else None
        found.lines.append(Line(item, receipt, explanations.get(item.key)))
    return found


@operation
def explain(staff: StaffUser, period: Period, key: str, text: str,
            source: str | None = None) -> ReconciliationExplanation:
    """A supervisor says why an open item of their agency's month is right as it is."""
    if not allows(staff.role, EXPLAIN_DIFFERENCES):
        raise Refused(_("Only a supervisor or an admin may explain a difference."), status=403)
    words = " ".join((text or "").split())
    if word_count(words) < MIN_WORDS or len(words) > MAX_CHARS:
        raise Refused(_("Say why in a few words (at most %(most)s characters).",
                        most=MAX_CHARS))
    run = _run(staff.agency_id, period)
    item = run and db.session.scalar(select(ReconciliationItem).where(
        ReconciliationItem.run_id == run.id, ReconciliationItem.key == key))
    if item is None:
        raise NotFound()
    if item.outcome not in OPEN:
        raise Refused(_("This line matches Stripe to the cent: there is nothing to explain."))
    explanation = ReconciliationExplanation(
        agency_id=staff.agency_id, period=period.first_day, key=key,
        difference_minor=_difference(item), currency=item.currency, text=words,
        staff_id=staff.id, at=datetime.now(UTC))
    db.session.add(explanation)
    audit(AuditKind.DIFFERENCE_EXPLAINED, agency_id=staff.agency_id, actor_id=staff.id,
          source=source, detail={"period": str(period), "item": key,
                                 "difference_minor": explanation.difference_minor,
                                 "currency": item.currency})
    return explanation


def reconciled(agency_id: int, creditor_id: int, period: Period | str) -> list[str]:
    """Why a creditor's month does not reconcile to the cent ([] when it does): the statements'
    close gate. An open item counts unless a supervisor explained that very difference."""
    period = Period.parse(period) if isinstance(period, str) else period
    run = _run(agency_id, period)
    if run is None:
        return [_("%(month)s has not been reconciled with Stripe.", month=str(period))]
    reasons = []
    if run.checked_at < period.end:
        reasons.append(_("%(month)s was last reconciled before it ended: run it again.",
                         month=str(period)))
    explanations = _explanations(agency_id, period)
    for item in db.session.scalars(select(ReconciliationItem).where(
            ReconciliationItem.run_id == run.id, ReconciliationItem.creditor_id == creditor_id,
            ReconciliationItem.outcome.in_(OPEN)).order_by(ReconciliationItem.key)):
        given = explanations.get(item.key)
        if given is not None and given.difference_minor == _difference(item):
            continue
        reasons.append(describe(item))
    return reasons


def describe(item: ReconciliationItem) -> str:
    """An open item in a sentence, with both amounts and the difference to the cent."""
    def shown(minor: int | None) -> str:
        return str(Money(minor or 0, item.currency))

    if item.outcome == Outcome.STRIPE_ONLY:
        return _("%(key)s: %(amount)s at Stripe, none of ours.", key=item.key,
                 amount=shown(item.stripe_minor))
    if item.outcome == Outcome.OURS_ONLY:
        return _("%(key)s: %(amount)s of ours, never settled by Stripe.", key=item.key,
                 amount=shown(item.ours_minor))
    return _("%(key)s: %(stripe)s at Stripe, %(ours)s ours (difference %(difference)s).",
             key=item.key, stripe=shown(item.stripe_minor), ours=shown(item.ours_minor),
             difference=shown(_difference(item)))
