"""`flask --app portal webhooks add|list|disable`: the agency's webhook endpoints."""

from __future__ import annotations

import secrets

import click
from flask import Blueprint
from sqlalchemy import select

from portal.agency.models import Agency
from portal.extensions import db
from portal.operations import Refused, operation
from portal.outbox.models import TOPICS, WebhookEndpoint

bp = Blueprint("webhooks_cli", __name__, cli_group="webhooks")


@operation
def add_endpoint(agency_name: str, url: str, topics: list[str]) -> tuple[WebhookEndpoint, str]:
    """An endpoint of one agency: it hears of that agency's accounts only."""
    agency = db.session.scalar(select(Agency).where(Agency.name == agency_name))
    if agency is None:
        raise Refused(f"no agency named {agency_name!r}")
    secret = "whsec_" + secrets.token_urlsafe(32)
    endpoint = WebhookEndpoint(agency_id=agency.id, url=url, secret=secret, topics=topics)
    db.session.add(endpoint)
    db.session.flush()
    return endpoint, secret


@bp.cli.command("add")
@click.argument("url")
@click.option("--agency", "agency_name", required=True,
              help="The agency whose accounts the endpoint hears of (and no other's).")
@click.option("--topic", "topics", multiple=True, type=click.Choice(TOPICS),
              help="A topic to send (repeat it); all topics when none is given.")
def add_command(url: str, agency_name: str, topics: tuple[str, ...]):
    """Register URL to receive an agency's webhooks; prints the signing secret once."""
    if not url.startswith(("https://", "http://")):
        raise click.BadParameter("the URL must start with https:// (or http:// for testing)")
    try:
        endpoint, secret = add_endpoint(agency_name, url, list(topics or TOPICS))
    except Refused as refusal:
        raise click.ClickException(refusal.message) from None
    click.echo(f"endpoint {endpoint.id} of {agency_name}: {url}")
    click.echo(f"signing secret (shown once): {secret}")


@bp.cli.command("list")
def list_command():
    """Show every endpoint, its agency, its topics and whether it is active."""
    rows = db.session.execute(select(WebhookEndpoint, Agency.name)
                              .join(Agency, Agency.id == WebhookEndpoint.agency_id)
                              .order_by(WebhookEndpoint.id))
    for e, agency_name in rows:
        state = "active" if e.active else "disabled"
        click.echo(f"{e.id}\t{state}\t{agency_name}\t{e.url}\t{','.join(e.topics)}")


@operation
def disable_endpoint(endpoint_id: int) -> bool:
    endpoint = db.session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        return False
    endpoint.active = False
    return True


@bp.cli.command("disable")
@click.argument("endpoint_id", type=int)
def disable_command(endpoint_id: int):
    """Stop sending to an endpoint (what is owed to it stays recorded)."""
    if not disable_endpoint(endpoint_id):
        raise click.ClickException(f"no endpoint {endpoint_id}")
    click.echo(f"endpoint {endpoint_id} disabled")
