"""Tenancy in one place: the accounts an agency's staff and endpoints may see, and no others."""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, select

from portal.accounts.models import Account, Creditor
from portal.extensions import db


def account_ids(agency_id: int) -> Select:
    """The ids of the agency's accounts (those of the creditors that placed with it)."""
    return (select(Account.id).join(Creditor, Creditor.id == Account.creditor_id)
            .where(Creditor.agency_id == agency_id))


def within(agency_id: int, account_id: ColumnElement) -> ColumnElement:
    """A condition for any row with an account id: it is one of the agency's. Staff queries add
    it, so another agency's case, dispute or plan is simply not found (404, nothing revealed)."""
    return account_id.in_(account_ids(agency_id))


def agency_of_account(reference: str) -> int | None:
    """The agency an account belongs to (None when its creditor is attached to none)."""
    return db.session.scalar(
        select(Creditor.agency_id).join(Account, Account.creditor_id == Creditor.id)
        .where(Account.reference == reference))
