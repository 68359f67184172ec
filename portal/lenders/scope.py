"""Which creditors a lender user (or a lender's API key) sees: the one filter of the lender's
portal. Another creditor's account or statement is simply not found (404), as for staff of
another agency."""

from __future__ import annotations

from sqlalchemy import ColumnElement, select

from portal.accounts.models import Account, Creditor
from portal.extensions import db
from portal.identity.models import Role, StaffUser
from portal.lenders.models import LenderCreditor


def creditor_ids(user: StaffUser) -> list[int]:
    """The creditors of a lender user: the one they were invited for and their group's others,
    all of the user's own agency; none for anyone who is not a lender."""
    if user.role != Role.LENDER:
        return []
    linked = select(LenderCreditor.creditor_id).where(LenderCreditor.staff_user_id == user.id)
    return list(db.session.scalars(
        select(Creditor.id).where(Creditor.agency_id == user.agency_id,
                                  (Creditor.id == user.creditor_id) | Creditor.id.in_(linked))
        .order_by(Creditor.name)))


def creditors(ids: list[int]) -> list[Creditor]:
    return list(db.session.scalars(select(Creditor).where(Creditor.id.in_(ids))
                                   .order_by(Creditor.name)))


def accounts_within(ids: list[int], account_id: ColumnElement) -> ColumnElement:
    """A condition for a row with an account id: one of these creditors' accounts."""
    return account_id.in_(select(Account.id).where(Account.creditor_id.in_(ids)))
