"""`flask --app portal payments ...`: wiring the Stripe emulator; applying the received Stripe
events and reconciling, by hand; a staff member's refund."""

from __future__ import annotations

import click
from flask import Blueprint, current_app

from portal.money import Money, MoneyError
from portal.operations import NotFound, Refused, reading
from portal.payments import emulator, inbox, reconcile, refunds

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


@bp.cli.command("refund")
@click.argument("receipt")
@click.option("--amount", required=True, help="How much to refund, like 10.00.")
@click.option("--reason", required=True, help="Why, in a few words (kept on the case record).")
@click.option("--staff", "staff_email", required=True,
              help="The supervisor or admin giving it (their agency's payment only).")
def refund_command(receipt: str, amount: str, reason: str, staff_email: str) -> None:
    """Refund part or all of a card payment, by its receipt number, as that staff member."""
    try:
        staff, public_id = refunds.find_for_cli(staff_email, receipt)
        with reading("refund amount"):
            currency = refunds.refundable(staff.agency_id, None, public_id).amount.currency
        payment = refunds.refund(staff, public_id, Money.parse(amount, currency), reason,
                                 source="cli")
    except NotFound as missing:
        raise click.ClickException(f"no {missing.args[0] if missing.args else 'payment'} "
                                   "by that name in the staff member's agency") from None
    except MoneyError:
        raise click.ClickException("give the amount as a number, like 10.00") from None
    except Refused as refused:
        raise click.ClickException(refused.message) from None
    click.echo(f"refunded {Money.parse(amount, currency)} of {payment.receipt_number}: "
               f"{Money(payment.refunded_minor, payment.currency)} refunded in all")
