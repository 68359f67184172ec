"""The one module that talks to Stripe: an injected service, so tests and the emulator swap in.

Every call that creates something carries an idempotency key derived from our own payment row,
so a retried request can never charge twice at Stripe (localstripe ignores the keys; the
reconciliation job covers that gap by looking the payment up before doing anything).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import stripe
from flask import Flask, current_app

log = logging.getLogger("portal.payments")

EXTENSION = "portal.payments.gateway"
#: Seconds before a Stripe call counts as timed out (the borrower is waiting).
TIMEOUT = 20


class GatewayError(Exception):
    """Stripe could not be reached or answered with an error that is not about the card."""


class CardDeclined(Exception):
    """The card was refused; `message` is Stripe's text for the cardholder."""

    def __init__(self, message: str, code: str | None, intent: IntentResult | None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.intent = intent


class InvalidWebhook(Exception):
    """A webhook whose signature or timestamp does not verify, or whose body is not an event."""


@dataclass(frozen=True)
class IntentResult:
    """What we keep of a PaymentIntent."""

    id: str
    status: str
    client_secret: str | None
    charge_id: str | None
    amount: int
    currency: str
    payment_id: str | None  # our payment's public id, from the metadata
    failure_message: str | None
    card_brand: str | None = None
    card_last4: str | None = None


@dataclass(frozen=True)
class RefundResult:
    """What we keep of a Refund: what `applying.apply_refund` needs, with the charge's
    cumulative refunded amount worked out by the caller (it knows what came before)."""

    id: str
    charge_id: str
    payment_intent: str | None
    amount: int
    currency: str
    status: str


def _charge_of(intent) -> tuple[str | None, object | None]:
    charge = intent["latest_charge"] if "latest_charge" in intent else None
    if charge is None:
        return None, None
    if isinstance(charge, str):
        return charge, None
    return charge["id"], charge


def intent_result(intent) -> IntentResult:
    """Our view of a PaymentIntent object (from the API or from a webhook event)."""
    charge_id, charge = _charge_of(intent)
    error = intent["last_payment_error"] if "last_payment_error" in intent else None
    metadata = intent["metadata"] if "metadata" in intent and intent["metadata"] else {}
    brand = last4 = None
    details = charge["payment_method_details"] if charge is not None and \
        "payment_method_details" in charge else None
    if details and "card" in details:
        brand, last4 = details["card"]["brand"], details["card"]["last4"]
    return IntentResult(
        id=intent["id"], status=intent["status"],
        client_secret=intent["client_secret"] if "client_secret" in intent else None,
        charge_id=charge_id, amount=int(intent["amount"]), currency=str(intent["currency"]).upper(),
        payment_id=metadata["payment_id"] if "payment_id" in metadata else None,
        failure_message=(error["message"] if error and "message" in error else None),
        card_brand=brand, card_last4=last4,
    )


class StripeGateway:
    """Stripe (or localstripe, its emulator, when `api_base` is set) behind four verbs."""

    def __init__(self, secret_key: str, publishable_key: str, webhook_secret: str,
                 api_base: str | None = None, js_url: str | None = None,
                 timeout: float = TIMEOUT):
        addresses = {"api": api_base} if api_base else {}
        self.client = stripe.StripeClient(
            secret_key, base_addresses=addresses, max_network_retries=0,
            http_client=stripe.RequestsClient(timeout=timeout),
        )
        self.publishable_key = publishable_key
        self.webhook_secret = webhook_secret
        self.api_base = api_base
        self._secret_key = secret_key
        #: Where the browser loads Stripe.js from (the emulator serves a stand-in).
        self.js_url = js_url or (f"{api_base}/js.stripe.com/v3/" if api_base
                                 else "https://js.stripe.com/v3/")

    # --- the browser collects the card with a SetupIntent ------------------------------------

    def create_setup_intent(self, attempt_key: str, payment_key: str) -> tuple[str, str]:
        """A SetupIntent for the card form; returns (id, client_secret)."""
        intent = self._call(self.client.v1.setup_intents.create,
                            {"usage": "on_session", "metadata": {"payment_id": payment_key}},
                            idempotency_key=f"{attempt_key}:setup")
        return intent["id"], intent["client_secret"]

    def card_of_setup(self, setup_intent_id: str) -> str | None:
        """The PaymentMethod a succeeded SetupIntent collected, or None if it did not succeed."""
        intent = self._call(self.client.v1.setup_intents.retrieve, setup_intent_id)
        if intent["status"] != "succeeded" or not intent["payment_method"]:
            return None
        method = intent["payment_method"]
        return method if isinstance(method, str) else method["id"]

    # --- the server charges it -------------------------------------------------------------

    def charge(self, payment_key: str, amount: int, currency: str,
               payment_method: str) -> IntentResult:
        """Create and confirm a PaymentIntent for our payment; CardDeclined if refused."""
        params = {
            "amount": amount, "currency": currency.lower(), "payment_method": payment_method,
            "confirm": True, "metadata": {"payment_id": payment_key},
            # Cards only: with the account's automatic payment methods Stripe would otherwise
            # want a return_url for redirect-based methods we never offer.
            "payment_method_types": ["card"],
        }
        return self._create_intent(params, f"{payment_key}:intent")

    def _create_intent(self, params: dict, idempotency_key: str) -> IntentResult:
        """Create (and confirm) a PaymentIntent: a refused card is CardDeclined, with the failed
        PaymentIntent when Stripe gives it; anything else from Stripe is a GatewayError."""
        try:
            intent = self.client.v1.payment_intents.create(
                params, options={"idempotency_key": idempotency_key})
        except stripe.CardError as exc:
            error = exc.error
            failed = None
            if error is not None and getattr(error, "payment_intent", None):
                failed = intent_result(error.payment_intent)
            raise CardDeclined(exc.user_message or "Your card was declined.",
                               exc.code, failed) from None
        except stripe.StripeError as exc:
            raise GatewayError(_describe(exc)) from None
        return intent_result(intent)

    def retrieve_intent(self, intent_id: str) -> IntentResult:
        return intent_result(self._call(self.client.v1.payment_intents.retrieve, intent_id))

    def find_intent(self, payment_key: str, created_after: int) -> IntentResult | None:
        """The PaymentIntent made for our payment, if any (a crash may have lost its id)."""
        params = {"limit": 100}
        if not self.api_base:  # the emulator knows no `created` filter
            params["created"] = {"gte": created_after}
        page = self._call(self.client.v1.payment_intents.list, params)
        for intent in page.auto_paging_iter():
            metadata = intent["metadata"] if "metadata" in intent else None
            if metadata and "payment_id" in metadata and metadata["payment_id"] == payment_key:
                return intent_result(intent)
        return None

    # --- autopay: a customer, a card saved for later, charged off-session ----------------------

    def create_customer(self, borrower_key: str) -> str:
        """A Stripe Customer for one of our borrowers (the key is made from our borrower id)."""
        customer = self._call(self.client.v1.customers.create,
                              {"metadata": {"borrower": borrower_key}},
                              idempotency_key=f"{borrower_key}:customer")
        return customer["id"]

    def create_off_session_setup(self, customer: str, setup_key: str) -> tuple[str, str]:
        """A SetupIntent saving a card for charges without the cardholder present (autopay);
        returns (id, client_secret)."""
        intent = self._call(self.client.v1.setup_intents.create,
                            {"usage": "off_session", "customer": customer,
                             "metadata": {"setup": setup_key}},
                            idempotency_key=f"{setup_key}:setup")
        return intent["id"], intent["client_secret"]

    def attach(self, payment_method: str, customer: str) -> None:
        """Attach the card to the customer (a confirmed SetupIntent may not have; localstripe's
        does not), unless it already is."""
        method = self._call(self.client.v1.payment_methods.retrieve, payment_method)
        owner = method["customer"] if "customer" in method else None
        if (owner if isinstance(owner, str) or owner is None else owner["id"]) == customer:
            return
        self._call(self.client.v1.payment_methods.attach, payment_method,
                   {"customer": customer})

    def charge_off_session(self, payment_key: str, amount: int, currency: str, customer: str,
                           payment_method: str, idempotency_key: str) -> IntentResult:
        """Charge a saved card with the cardholder absent; CardDeclined if refused."""
        params = {
            "amount": amount, "currency": currency.lower(), "customer": customer,
            "payment_method": payment_method, "off_session": True, "confirm": True,
            "metadata": {"payment_id": payment_key}, "payment_method_types": ["card"],
        }
        return self._create_intent(params, idempotency_key)

    # --- refunds ----------------------------------------------------------------------------

    def refund(self, charge_id: str, amount: int, idempotency_key: str,
               payment_key: str | None = None) -> RefundResult:
        """Refund `amount` of a charge; the key makes a repeat of the same request the same
        refund (localstripe ignores it). A refund Stripe reports failed or canceled, or any
        error from Stripe, is a GatewayError: nothing was refunded."""
        params: dict = {"charge": charge_id, "amount": amount}
        if payment_key:
            params["metadata"] = {"payment_id": payment_key}
        refund = self._call(self.client.v1.refunds.create, params,
                            idempotency_key=idempotency_key)
        status = str(refund["status"]) if "status" in refund else "succeeded"
        if status in ("failed", "canceled"):
            raise GatewayError(f"refund {status}")
        intent = refund["payment_intent"] if "payment_intent" in refund else None
        charge = refund["charge"] if "charge" in refund else charge_id
        return RefundResult(
            id=refund["id"], charge_id=charge if isinstance(charge, str) else charge["id"],
            payment_intent=intent if isinstance(intent, str) or intent is None else intent["id"],
            amount=int(refund["amount"]), currency=str(refund["currency"]).upper(), status=status)

    # --- webhooks ------------------------------------------------------------------------

    def check_reachable(self, timeout: float = 2.0) -> None:
        """One cheap authenticated call with a short timeout (for /readyz); GatewayError if
        Stripe (or the emulator) does not answer it."""
        addresses = {"api": self.api_base} if self.api_base else {}
        client = stripe.StripeClient(self._secret_key, base_addresses=addresses,
                                     max_network_retries=0,
                                     http_client=stripe.RequestsClient(timeout=timeout))
        self._call(client.v1.customers.list, {"limit": 1})

    def verify_event(self, payload: bytes, signature: str | None) -> dict:
        """The event as a plain dict, if its Stripe-Signature verifies (default 5 minute window)."""
        if not signature:
            raise InvalidWebhook("no Stripe-Signature header")
        try:
            event = stripe.Webhook.construct_event(payload, signature, self.webhook_secret)
        except (stripe.SignatureVerificationError, ValueError) as exc:
            raise InvalidWebhook(type(exc).__name__) from None
        return event.to_dict()

    def _call(self, method, *args, idempotency_key: str | None = None):
        options = {"idempotency_key": idempotency_key} if idempotency_key else None
        try:
            return method(*args, options=options) if options else method(*args)
        except stripe.StripeError as exc:
            raise GatewayError(_describe(exc)) from None


def _describe(exc: Exception) -> str:
    """Stripe's error without anything of the card or the person in it."""
    code = getattr(exc, "code", None)
    return f"{type(exc).__name__}{f' ({code})' if code else ''}"


def gateway() -> StripeGateway:
    """The app's gateway (tests install another with `install`)."""
    return current_app.extensions[EXTENSION]


def install(app: Flask, service: StripeGateway) -> None:
    app.extensions[EXTENSION] = service
