"""Reading a month of Stripe's lists with the stripe library's own auto-paging: balance
transactions by `created`, charges, refunds, disputes, payouts, and each payout's transactions
(`balance_transactions?payout=`). The client is the payment gateway's (one configuration of
Stripe), or any client pointed at a server that answers as Stripe does.

localstripe (the emulator of demo mode and the tests) answers some of these differently, and
`emulated=True` reads it as it is: its lists take no `created` range (the month is cut here
instead; its `/v1/balance/history` list answers 500, `/v1/balance_transactions` works), it has
no disputes, and its payouts are made by hand, in EUR only, with a made-up balance transaction
and no `payout=` filter, so none is read from it (README, "Reconciliation").
"""

from __future__ import annotations

from collections.abc import Iterator

import stripe

from portal.payments.gateway import GatewayError, gateway
from portal.reconcile.matching import Stripe, id_of
from portal.reconcile.period import Period

PAGE = 100


class StripeLists:
    """A month of Stripe's lists, read page by page."""

    def __init__(self, client: stripe.StripeClient, emulated: bool = False):
        self.client = client
        self.emulated = emulated

    @classmethod
    def of_gateway(cls) -> StripeLists:
        """The app's Stripe: the emulator when the gateway has an API base (demo mode)."""
        service = gateway()
        return cls(service.client, emulated=bool(service.api_base))

    def _range(self, period: Period) -> dict:
        return {"created": {"gte": int(period.start.timestamp()),
                            "lt": int(period.end.timestamp())}}

    def _each(self, resource, period: Period | None, **params) -> Iterator[dict]:
        """Every object of a list, through the library's auto-paging (`starting_after`)."""
        wanted = {"limit": PAGE, **params}
        if period is not None and not self.emulated:
            wanted.update(self._range(period))
        try:
            for obj in resource.list(wanted).auto_paging_iter():
                found = obj.to_dict()
                if period is None or _within(found, period):
                    yield found
        except stripe.StripeError as exc:
            raise GatewayError(type(exc).__name__) from None

    def balance_transactions(self, period: Period) -> list[dict]:
        return list(self._each(self.client.v1.balance_transactions, period))

    def payout_transactions(self, payout_id: str) -> list[dict]:
        return list(self._each(self.client.v1.balance_transactions, None, payout=payout_id))

    def charge(self, charge_id: str) -> dict | None:
        try:
            return self.client.v1.charges.retrieve(charge_id).to_dict()
        except stripe.InvalidRequestError:
            return None
        except stripe.StripeError as exc:
            raise GatewayError(type(exc).__name__) from None

    def read(self, period: Period) -> Stripe:
        """Everything the month's matching needs. A refund or dispute of an older charge brings
        that charge too (to find its PaymentIntent)."""
        found = Stripe(balance_transactions=self.balance_transactions(period))
        found.charges = {c["id"]: c for c in self._each(self.client.v1.charges, period)}
        found.refunds = {r["id"]: r for r in self._each(self.client.v1.refunds, period)}
        if not self.emulated:
            found.disputes = {d["id"]: d for d in self._each(self.client.v1.disputes, period)}
            found.payouts = [(p, self.payout_transactions(p["id"]))
                             for p in self._each(self.client.v1.payouts, period)]
        for reversal in [*found.refunds.values(), *found.disputes.values()]:
            charge_id = id_of(reversal.get("charge"))
            if charge_id and charge_id not in found.charges:
                charge = self.charge(charge_id)
                if charge is not None:
                    found.charges[charge_id] = charge
        return found


def _within(obj: dict, period: Period) -> bool:
    created = obj.get("created")
    return created is None or period.start.timestamp() <= int(created) < period.end.timestamp()
