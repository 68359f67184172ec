"""A creditor's commission terms as data with history: new terms are added from a date and
supersede the older ones from then on; no terms are ever edited (the table refuses it)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.accounts.models import Creditor
from portal.extensions import db
from portal.identity.models import Role, StaffUser
from portal.lenders import commission
from portal.lenders.models import CommissionRate, CreditorTerms, LenderCreditor, Method
from portal.operations import Refused, operation


def history(creditor_id: int) -> list[commission.Terms]:
    """Every terms of the creditor, oldest first, as the pure rules read them."""
    return histories([creditor_id])[creditor_id]


def histories(creditor_ids: list[int]) -> dict[int, list[commission.Terms]]:
    """`history` of each of these creditors, by creditor id: the terms and their rates in two
    queries whatever the number of creditors."""
    found: dict[int, list[commission.Terms]] = {cid: [] for cid in creditor_ids}
    rows = db.session.scalars(select(CreditorTerms).where(
        CreditorTerms.creditor_id.in_(list(found))).options(selectinload(CreditorTerms.rates))
        .order_by(CreditorTerms.creditor_id, CreditorTerms.valid_from))
    for t in rows:
        found[t.creditor_id].append(commission.Terms(t.valid_from, t.method, tuple(
            commission.Rate(r.product, r.min_age_days, r.rate_bp) for r in t.rates)))
    return found


def _creditor(code: str) -> Creditor:
    creditor = db.session.scalar(select(Creditor).where(Creditor.code == code))
    if creditor is None:
        raise Refused(f"no creditor {code!r}")
    return creditor


@operation
def add_terms(creditor_code: str, valid_from: date, method: str,
              rates: list[commission.Rate]) -> CreditorTerms:
    """New terms of a creditor from `valid_from` (never before terms already in force)."""
    return write_terms(creditor_code, valid_from, method, rates)


def write_terms(creditor_code: str, valid_from: date, method: str,
                rates: list[commission.Rate]) -> CreditorTerms:
    """`add_terms` inside the caller's transaction (the demo seed's)."""
    creditor = _creditor(creditor_code)
    if method not in set(Method):
        raise Refused(f"the method is one of {', '.join(Method)}, not {method!r}")
    if not rates:
        raise Refused("terms name at least one rate")
    for rate in rates:
        if not 0 <= rate.rate_bp <= commission.BASIS or rate.min_age_days < 0:
            raise Refused("a rate is 0 to 10000 basis points, from an age of 0 days or more")
    latest = db.session.scalar(select(CreditorTerms.valid_from).where(
        CreditorTerms.creditor_id == creditor.id).order_by(CreditorTerms.valid_from.desc()))
    if latest is not None and valid_from <= latest:
        raise Refused(f"{creditor_code} has terms from {latest.isoformat()}: new terms start "
                      "after them (terms are never changed, only superseded)")
    terms = CreditorTerms(creditor_id=creditor.id, valid_from=valid_from, method=method,
                          period="monthly")
    db.session.add(terms)
    db.session.flush()
    db.session.add_all(CommissionRate(terms_id=terms.id, product=r.product,
                                      min_age_days=r.min_age_days, rate_bp=r.rate_bp)
                       for r in rates)
    return terms


def has_terms(creditor_code: str) -> bool:
    return db.session.scalar(select(CreditorTerms.id).join(
        Creditor, Creditor.id == CreditorTerms.creditor_id).where(
        Creditor.code == creditor_code).limit(1)) is not None


def parse_rate(text: str) -> commission.Rate:
    """`2500`, `180:2500` (from 180 days after placement) or `Credit card:180:2500`."""
    parts = text.rsplit(":", 2)
    try:
        if len(parts) == 1:
            return commission.Rate(None, 0, int(parts[0]))
        if len(parts) == 2:
            return commission.Rate(None, int(parts[0]), int(parts[1]))
        return commission.Rate(parts[0] or None, int(parts[1]), int(parts[2]))
    except ValueError:
        raise Refused(f"{text!r} is not a rate: write BP, DAYS:BP or PRODUCT:DAYS:BP") from None


@operation
def link_creditor(user_id: int, creditor_code: str) -> None:
    """Add a creditor to a lender user's group (of the user's own agency)."""
    user = db.session.get(StaffUser, user_id)
    creditor = _creditor(creditor_code)
    if user is None or user.role != Role.LENDER:
        raise Refused("only a lender user belongs to creditors")
    if creditor.agency_id != user.agency_id:
        raise Refused(f"{creditor_code} did not place with {user.agency.name}")
    db.session.merge(LenderCreditor(staff_user_id=user.id, creditor_id=creditor.id))
