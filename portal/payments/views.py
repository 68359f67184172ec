"""The borrower's payment pages, and the endpoint Stripe's webhooks reach."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    g,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_htmx import make_response as htmx_response
from flask_login import current_user

from portal.cases.service import Actor
from portal.extensions import csrf, limiter
from portal.money import Money
from portal.operations import Refused
from portal.payments import applying, checkout, inbox, receipts
from portal.payments.forms import PayForm, SubmitForm
from portal.payments.gateway import GatewayError, InvalidWebhook, gateway
from portal.payments.rules import SETTLED
from portal.payments.rules import PaymentStatus as S
from portal.web.access import borrower_actor, borrower_required, public
from portal.web.fragments import wants_fragment
from portal.web.i18n import money

log = logging.getLogger("portal.payments")
bp = Blueprint("payments", __name__)


#: How a payment's status reads to a borrower.
STATUS_NAMES = {
    S.CREATED: _l("Not submitted"), S.SUBMITTING: _l("Being processed"),
    S.REQUIRES_ACTION: _l("Waiting for your bank"), S.PENDING: _l("Being processed"),
    S.SUCCEEDED: _l("Paid"), S.FAILED: _l("Did not go through"), S.CANCELED: _l("Not completed"),
}


@bp.app_template_filter("payment_status")
def payment_status(status: str) -> str:
    return str(STATUS_NAMES.get(status, status))


@bp.app_template_filter("minor_money")
def minor_money(minor: int, currency: str) -> str:
    return money(Money(minor, currency))


def _actor() -> Actor:
    return borrower_actor()


def _allow_stripe_js() -> None:
    """Let this page load Stripe.js and let it reach Stripe (the CSP is strict elsewhere)."""
    js = urlsplit(gateway().js_url)
    origin = f"{js.scheme}://{js.netloc}"
    api = gateway().api_base or "https://api.stripe.com"
    sources = {"script-src": [origin], "connect-src": [api, origin],
               "frame-src": [origin, "https://hooks.stripe.com"]}
    if not gateway().api_base:  # real Stripe.js loads from, and frames, its own subdomains
        sources["script-src"].append("https://*.js.stripe.com")
        sources["frame-src"].append("https://*.js.stripe.com")
        sources["connect-src"].append("https://m.stripe.network")
    g.csp_sources = sources


@bp.route("/accounts/<reference>/pay", methods=["GET", "POST"])
@borrower_required
def pay(reference: str):
    options = checkout.options_for(current_user.id, reference)
    form = PayForm()
    error = None
    if form.validate_on_submit():
        try:
            payment = checkout.start_payment(current_user.id, reference, form.choice.data,
                                            form.amount.data, money)
        except Refused as refusal:
            error = refusal.message
        else:
            return redirect(url_for("payments.card", payment_id=payment.public_id), 303)
    elif form.errors:
        error = next(iter(form.errors.values()))[0]
    status = 422 if error else 200
    return render_template("payments/pay.html", options=options, form=form, error=error), status


@bp.get("/payments/<payment_id>/card")
@borrower_required
def card(payment_id: str):
    payment = checkout.own_payment(current_user.id, payment_id)
    if payment.status != S.CREATED:
        return _status_page(payment)
    try:
        secret = checkout.ensure_setup_intent(payment)
    except GatewayError as exc:
        log.warning("payment %s: card form unavailable: %s", payment.id, exc)
        return render_template("payments/unavailable.html", payment=payment), 503
    _allow_stripe_js()
    return render_template("payments/card.html", payment=payment, client_secret=secret,
                           publishable_key=gateway().publishable_key, js_url=gateway().js_url,
                           form=SubmitForm())


@bp.post("/payments/<payment_id>/submit")
@borrower_required
@limiter.limit("10 per minute")
def submit(payment_id: str):
    form = SubmitForm()
    if not form.validate_on_submit():
        abort(400)
    payment = checkout.submit(current_user.id, payment_id, _actor())
    if payment.status == S.CREATED:  # the card was not set up: back to the card form
        return redirect(url_for("payments.card", payment_id=payment.public_id), 303)
    return redirect(url_for("payments.status", payment_id=payment.public_id), 303)


def _status_page(payment):
    view = checkout.status_view(payment, back_from_bank=request.args.get("after") == "bank")
    if view.needs_action:
        _allow_stripe_js()
    fragment = wants_fragment("payment-status")
    page = render_template("payments/_status.html" if fragment else "payments/status.html",
                           payment=payment, view=view, publishable_key=gateway().publishable_key,
                           js_url=gateway().js_url)
    # The bank's check needs Stripe.js, which a swapped-in fragment does not run: reload.
    return htmx_response(page, trigger="payment-settled" if payment.status in SETTLED else None,
                         refresh=view.needs_action and fragment)


@bp.get("/payments/<payment_id>")
@borrower_required
def status(payment_id: str):
    payment = checkout.own_payment(current_user.id, payment_id)
    if payment.status == S.CREATED:
        return redirect(url_for("payments.card", payment_id=payment.public_id), 303)
    return _status_page(payment)


def _receipt_or_404(payment_id: str):
    payment = checkout.own_payment(current_user.id, payment_id)
    if payment.status != S.SUCCEEDED:
        abort(404)
    return payment, receipts.receipt_of(payment)


@bp.get("/payments/<payment_id>/receipt")
@borrower_required
def receipt(payment_id: str):
    payment, facts = _receipt_or_404(payment_id)
    return render_template("payments/receipt.html", payment=payment, receipt=facts,
                           lines=receipts.lines(facts, str(get_locale())))


@bp.get("/payments/<payment_id>/receipt.pdf")
@borrower_required
def receipt_pdf(payment_id: str):
    payment, facts = _receipt_or_404(payment_id)
    response = make_response(receipts.pdf_of(facts, str(get_locale())))
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = \
        f'attachment; filename="receipt-{payment.receipt_number}.pdf"'
    return response


@bp.post("/payments/stripe/webhook")
@public
@csrf.exempt
def stripe_webhook():
    """Stripe's signed events: verified, checked to be about one of our payments, and kept, in one
    quick transaction that also wakes a worker to apply them (`inbox.apply_received`). Answered
    2xx only once the event is safely kept, as Stripe asks: quickly, before the work is done."""
    payload = request.get_data(cache=False)
    try:
        event = gateway().verify_event(payload, request.headers.get("Stripe-Signature"))
    except InvalidWebhook as exc:
        log.warning("stripe webhook refused: %s", exc)
        return jsonify(error="invalid signature"), 400
    if not isinstance(event.get("id"), str) or not isinstance(event.get("data"), dict):
        return jsonify(error="not an event"), 400
    try:
        outcome = inbox.receive_event(event)
    except applying.UnknownPayment as exc:
        log.warning("stripe webhook %s (%s): no such payment %s", event["id"],
                    event.get("type"), exc)
        return jsonify(error="unknown payment"), 404
    except (KeyError, TypeError, ValueError) as exc:
        log.warning("stripe webhook %s: malformed %s", event["id"], type(exc).__name__)
        return jsonify(error="malformed event"), 400
    return jsonify(received=outcome), 200
