"""`flask --app portal demo seed`: load the demo data of CONTRACT.md (idempotent)."""

from __future__ import annotations

from datetime import UTC, datetime

import click
import pyotp
from flask import Blueprint, current_app
from sqlalchemy import select

from portal.accounts.placement import ensure_borrower, ensure_creditor, place
from portal.agency.models import Agency
from portal.api.service import ensure_partner_key
from portal.cases.service import Actor
from portal.demo import data
from portal.demo.remittances import seed_remittances
from portal.extensions import db
from portal.identity.models import StaffUser
from portal.identity.service import passwords
from portal.lenders import terms
from portal.lenders.commission import Rate
from portal.notices.service import sent_before
from portal.operations import operation

bp = Blueprint("demo_cli", __name__, cli_group="demo")


@operation
def seed() -> tuple[int, list[StaffUser]]:
    """Create whatever of the demo data is missing; return how many accounts were added."""
    actor = Actor.system("demo-seed")
    creditors = {code: ensure_creditor(code, name, country)
                 for code, name, country, _agency in data.CREDITORS}
    for code, (phone, website, address) in data.CREDITOR_CONTACTS.items():
        if creditors[code].phone is None:
            creditors[code].phone, creditors[code].website = phone, website
            creditors[code].postal_address = address
    # The dialer of CONTRACT.md: agency "Demo Collections" holds the CONTRACT.md creditors;
    # the second agency, its own.
    for agency_name, partner, public_id, key in data.DIALERS:
        ensure_partner_key(agency_name, partner, public_id, key,
                           [creditors[code] for code, *_rest, agency in data.CREDITORS
                            if agency == agency_name])
    agencies = {}
    for agency in db.session.scalars(select(Agency)):
        agencies[agency.name] = agency.id
        if agency.name in data.IDENTITIES and agency.postal_address is None:
            agency.email_from, agency.sms_sender, agency.postal_address = (
                data.IDENTITIES[agency.name])
    debts = data.debts(datetime.now(UTC))
    added = 0
    for person in data.people():
        borrower = ensure_borrower(person)
        for creditor_code, debt in debts[person.reference]:
            account = place(creditors[creditor_code], borrower, debt, actor)
            if account is not None:
                added += 1
                # The UK and China accounts' first letters went, as the US notices did.
                sent_before(account, actor, datetime.now(UTC))
    staff = []
    password_hash = None  # one argon2 hash for the shared demo password: it is slow on purpose
    for email, name, role, creditor_code, agency_name in data.STAFF:
        user = db.session.scalar(select(StaffUser).where(StaffUser.email == email))
        if user is None:
            password_hash = password_hash or passwords.hash(data.STAFF_PASSWORD)
            user = StaffUser(
                email=email, name=name, role=role,
                password_hash=password_hash,
                totp_secret=pyotp.random_base32(),
                creditor_id=creditors[creditor_code].id if creditor_code else None,
                agency_id=agencies[agency_name],
            )
            db.session.add(user)
        staff.append(user)
    db.session.flush()
    for code, valid_from, method, rates in data.TERMS:
        if not terms.has_terms(code):
            terms.write_terms(code, valid_from, method, [Rate(*r) for r in rates])
    return added, staff


@bp.cli.command("seed")
def seed_command():
    """Load the demo borrowers, accounts and staff; print staff sign-in details."""
    if not current_app.config["PORTAL_DEMO"]:
        raise click.ClickException("demo data is only loaded in demo mode (PORTAL_DEMO=1)")
    added, staff = seed()
    closed = seed_remittances()
    click.echo(f"demo data ready ({added} accounts added)")
    if closed:
        click.echo(f"Northwind's statements of {' and '.join(closed)} closed; close the next "
                   "once its month has ended and reconciles: `flask --app portal lenders "
                   "reconcile --period YYYY-MM`, then `flask --app portal lenders "
                   "close-statement --creditor NWB --period YYYY-MM`")
    click.echo(f"staff password for every demo user: {data.STAFF_PASSWORD}")
    for user in staff:
        click.echo(f"  {user.email:24} {user.role:10} {user.agency.name:18} "
                   f"TOTP secret {user.totp_secret}")
