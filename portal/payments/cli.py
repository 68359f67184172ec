"""`flask --app portal payments ...`: wiring the Stripe emulator; applying the received Stripe
events and reconciling, by hand."""

from __future__ import annotations

import click
from flask import Blueprint, current_app

from portal.payments import emulator, inbox, reconcile

bp = Blueprint("payments_cli", __name__, cli_group="payments")


@bp.cli.command("connect-emulator")
@click.option("--webhook-url", default="http://127.0.0.1:5000/payments/stripe/webhook",
              show_default=True, help="Where the emulator should send its events.")
@click.option("--wait", default=30.0, show_default=True, help="Seconds to wait for it to start.")
def connect_emulator(webhook_url: str, wait: float) -> None:
    """Wait for localstripe and register our webhook with it (demo mode only)."""
    api_base = current_app.config["STRIPE_API_BASE"]
    if not api_base:
        raise click.ClickException("real Stripe keys are set: there is no emulator to connect")
    emulator.wait_until_up(api_base, wait)
    emulator.register_webhook(api_base, webhook_url, current_app.config["STRIPE_WEBHOOK_SECRET"])
    click.echo(f"payments: Stripe emulator at {api_base} sends its webhooks to {webhook_url}",
               err=True)


@bp.cli.command("reconcile")
def reconcile_command() -> None:
    """Resolve payments stuck between our records and Stripe (the worker does this every minute)."""
    counts = reconcile.reconcile()
    click.echo(", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) or "nothing to do")


@bp.cli.command("apply-events")
@click.option("--limit", default=1000, show_default=True, help="At most this many events.")
@click.option("--retry-failed", is_flag=True,
              help="Try failed events now, not at their retry time.")
def apply_events_command(limit: int, retry_failed: bool) -> None:
    """Apply the Stripe events the webhook received (the worker does this within moments)."""
    if retry_failed:
        click.echo(f"{inbox.retry_failed_now()} failed events due now", err=True)
    counts = inbox.apply_received(limit)
    left = inbox.pending_events()
    click.echo(", ".join(f"{k}: {v}" for k, v in sorted(counts.items()) if k != "more")
               or "nothing to apply")
    if left:
        click.echo("still waiting: " + ", ".join(f"{k}: {v}" for k, v in sorted(left.items())),
                   err=True)
