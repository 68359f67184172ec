"""`flask --app portal agency policy|set-policy|set-identity|add-staff`: the agency's own contact
policy switches, who its messages come from, and its staff users."""

from __future__ import annotations

import logging
from email.utils import parseaddr

import click
from flask import Blueprint
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from portal.agency import service
from portal.agency.models import Agency
from portal.contact.rulebook import RULES, law_in_policy
from portal.extensions import db
from portal.identity.models import Role
from portal.operations import Refused, operation, reading

log = logging.getLogger("portal.agency")

bp = Blueprint("agency_cli", __name__, cli_group="agency")
POLICY_RULES = sorted(rule.id for rule in RULES.values() if rule.policy)


def _agency(name: str) -> Agency:
    agency = db.session.scalar(select(Agency).where(Agency.name == name))
    if agency is None:
        raise Refused(f"no agency named {name!r}")
    return agency


@operation
def set_policy(agency_name: str, rule_id: str, enabled: bool) -> dict:
    """Switch one policy rule for one agency; the law's rules cannot be switched."""
    if rule_id not in POLICY_RULES:
        raise Refused(f"{rule_id!r} is not an agency policy rule (law cannot be switched off)")
    agency = _agency(agency_name)
    agency.contact_policy = {**agency.contact_policy, rule_id: enabled}
    return agency.contact_policy


@bp.cli.command("set-policy")
@click.argument("rule_id", type=click.Choice(POLICY_RULES))
@click.argument("state", type=click.Choice(["on", "off"]))
@click.option("--agency", "agency_name", required=True)
def set_policy_command(rule_id: str, state: str, agency_name: str):
    """Turn an agency policy rule on or off; it applies to the next decision."""
    try:
        set_policy(agency_name, rule_id, state == "on")
    except Refused as refusal:
        raise click.ClickException(refusal.message) from None
    click.echo(f"{rule_id} is {state} for {agency_name}")


@bp.cli.command("policy")
@click.option("--agency", "agency_name", required=True)
def policy_command(agency_name: str):
    """Show each policy rule and whether it is on."""
    try:
        agency = _agency(agency_name)
    except Refused as refusal:
        raise click.ClickException(refusal.message) from None
    for rule_id in POLICY_RULES:
        state = "on" if agency.contact_policy.get(rule_id, True) else "off"
        click.echo(f"{rule_id:36} {state}")
    for rule_id in law_in_policy(agency.contact_policy):
        click.echo(f"WARNING: the stored policy names {rule_id}, which is not an agency policy "
                   "rule: ignored (law cannot be switched off)")


@operation
def set_identity(agency_name: str, email_from: str | None, sms_sender: str | None,
                 postal_address: str | None) -> Agency:
    """Who the agency's messages come from; a value not given is kept, "" clears it."""
    if email_from and "@" not in parseaddr(email_from)[1]:
        raise Refused(f"{email_from!r} is not an email address")
    agency = _agency(agency_name)
    for column, value in (("email_from", email_from), ("sms_sender", sms_sender),
                          ("postal_address", postal_address)):
        if value is not None:
            setattr(agency, column, value.replace("\\n", "\n").strip() or None)
    return agency


@bp.cli.command("set-identity")
@click.option("--agency", "agency_name", required=True)
@click.option("--email-from", help="The address its emails come from (its SMTP may send as it).")
@click.option("--sms-sender", help="Its sender number, short code or id at the SMS provider.")
@click.option("--postal-address", help="Its return address on letters; lines split by \\n.")
def set_identity_command(agency_name: str, email_from: str | None, sms_sender: str | None,
                         postal_address: str | None):
    """Set who the agency's emails, texts and letters come from."""
    try:
        agency = set_identity(agency_name, email_from, sms_sender, postal_address)
    except Refused as refusal:
        raise click.ClickException(refusal.message) from None
    click.echo(f"{agency.name}: email from {agency.email_from or '(MAIL_FROM)'}, "
               f"texts from {agency.sms_sender or '(none)'}, "
               f"letters from {(agency.postal_address or '(none)').replace(chr(10), ', ')}")


@bp.cli.command("add-staff")
@click.argument("email")
@click.option("--agency", "agency_name", required=True,
              help="The agency whose accounts the user sees (and no other's).")
@click.option("--name", required=True)
@click.option("--role", required=True, type=click.Choice([str(r) for r in Role]))
@click.option("--creditor", "creditor_code", help="A lender user's creditor (its code).")
@click.password_option(help="Asked for when not given.")
def add_staff_command(email: str, agency_name: str, name: str, role: str,
                      creditor_code: str | None, password: str):
    """Add a staff user to an agency; prints their TOTP secret once."""
    try:
        user = service.add_staff(agency_name, email, name, role, password, creditor_code)
    except Refused as refusal:
        raise click.ClickException(refusal.message) from None
    click.echo(f"{user.email} ({user.role}) added to {agency_name}")
    click.echo(f"TOTP secret (shown once): {user.totp_secret}")


def law_in_policies() -> list[tuple[str, str]]:
    """(code, message) for each agency whose stored policy names a rule that is not policy: the
    engine ignores it; `doctor` reports it so someone removes it."""
    try:
        with reading():
            agencies = db.session.execute(
                select(Agency.name, Agency.contact_policy).order_by(Agency.name)).all()
    except SQLAlchemyError as error:
        log.warning("agency policies not checked: %s", type(error).__name__)
        return [("law-in-policy-unchecked", "agency contact policies could not be read: the "
                 "database did not answer")]
    found = []
    for name, policy in agencies:
        named = law_in_policy(policy or {})
        if named:
            log.warning("agency policy names law rules, ignored: %s", ", ".join(named))
            found.append(("law-in-policy", f"agency {name!r}: its stored contact policy names "
                          f"{', '.join(named)}, which no policy can switch off; ignored "
                          "(the law still applies). Remove it."))
    return found
