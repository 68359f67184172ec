"""The reconciliation run against localstripe with the real stripe library: charges and refunds
matched to our payments (by charge id or PaymentIntent), what either side lacks, a difference
to the cent, paging through the lists, and a second run that changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import stripe
from sqlalchemy import select, text

from portal.accounts.models import Account, Creditor
from portal.cases.service import Actor
from portal.extensions import db as database
from portal.payments import applying
from portal.payments.models import BalanceTransaction, Payment
from portal.reconcile import service, stripe_lists
from portal.reconcile.models import ReconciliationItem
from portal.reconcile.period import Period
from portal.reconcile.stripe_lists import StripeLists
from tests.fixtures.stripe import running_emulator


@pytest.fixture(scope="module")
def own_stripe():
    """A localstripe of this module's own: the month's lists hold only what its tests made."""
    with running_emulator() as emulator:
        yield emulator


def _charge(emulator, amount: int, currency: str = "usd") -> dict:
    """A PaymentIntent confirmed with a test card, as our gateway creates one."""
    intent = emulator.client.v1.payment_intents.create({
        "amount": amount, "currency": currency, "payment_method": "pm_card_visa",
        "confirm": True, "payment_method_types": ["card"]})
    found = emulator.intent(intent.id)
    charge = found["latest_charge"]
    return {**found, "latest_charge": charge["id"] if isinstance(charge, dict) else charge}


def _lists(emulator) -> StripeLists:
    """The month's lists read from this module's localstripe, as the app reads the emulator."""
    return StripeLists(stripe.StripeClient("sk_test_emulator",
                                           base_addresses={"api": emulator.url}), emulated=True)


def _agency_of(db, reference: str) -> int:
    return db.scalar(select(Creditor.agency_id).join(Account, Account.creditor_id == Creditor.id)
                     .where(Account.reference == reference))


def _items(db, run_id: int) -> dict[str, ReconciliationItem]:
    return {i.key: i for i in db.scalars(select(ReconciliationItem).where(
        ReconciliationItem.run_id == run_id))}


@pytest.fixture
def month(own_stripe, db, make_payment):
    """Stripe and our side of one month, disagreeing in every way the page shows."""
    own_stripe.reset()
    paid = _charge(own_stripe, 5000)
    short = _charge(own_stripe, 3100)
    stranger = _charge(own_stripe, 1000)
    harbor = _charge(own_stripe, 6400)
    ours_paid = make_payment("NWB-1001", 5000, "succeeded", intent_id=paid["id"])
    # Ours says 30.00 where Stripe charged 31.00; the factory records a made-up charge id, so
    # this one is found by its PaymentIntent, and the one below by its charge id.
    ours_short = make_payment("NWB-1002", 3000, "succeeded", intent_id=short["id"])
    never = make_payment("NWB-1001", 700, "succeeded")
    other_agency = make_payment("BRC-4001", 6400, "succeeded", intent_id=harbor["id"])

    def adopt_charge_id():
        database.session.get(Payment, ours_paid.id).charge_id = paid["latest_charge"]

    db.run(adopt_charge_id)
    own_stripe.client.v1.refunds.create({"charge": paid["latest_charge"], "amount": 1500})
    # Our side learns of the refund as the webhook would tell it (localstripe sends none).
    db.run(applying.apply_refund, {"id": paid["latest_charge"], "payment_intent": paid["id"],
                                   "amount_refunded": 1500, "metadata": {}},
           Actor.system("test"))
    return dict(paid=paid, short=short, stranger=stranger, harbor=harbor, ours_paid=ours_paid,
                ours_short=ours_short, never=never, other_agency=other_agency)


def test_a_month_at_localstripe_is_matched_to_our_payments(own_stripe, db, month, monkeypatch):
    monkeypatch.setattr(stripe_lists, "PAGE", 2)  # every list takes several pages
    lists = _lists(own_stripe)
    period = Period.of(datetime.now(UTC).date())
    demo = _agency_of(db, "NWB-1001")
    result = db.run(service.run, demo, period, lists)
    items = _items(db, result.run_id)

    paid_charge = month["paid"]["latest_charge"]
    matched = items[f"charge:{paid_charge}"]
    assert (matched.outcome, matched.stripe_minor, matched.ours_minor, matched.fee_minor,
            matched.payment_id) == ("matched", 5000, 5000, 0, month["ours_paid"].id)
    refunds = items[f"refunds:{month['ours_paid'].id}"]
    assert (refunds.outcome, refunds.stripe_minor, refunds.ours_minor) == (
        "matched", -1500, -1500)
    short = items[f"charge:{month['short']['latest_charge']}"]
    assert (short.outcome, short.stripe_minor, short.ours_minor, short.payment_id) == (
        "difference", 3100, 3000, month["ours_short"].id)
    stranger = items[f"charge:{month['stranger']['latest_charge']}"]
    assert (stranger.outcome, stranger.stripe_minor, stranger.payment_id) == (
        "stripe_only", 1000, None)
    never = items[f"payment:{month['never'].id}"]
    assert (never.outcome, never.ours_minor, never.stripe_minor) == ("ours_only", 700, None)
    # Harbor's payment is Harbor's: matched on its own run, nowhere on Demo's.
    assert f"charge:{month['harbor']['latest_charge']}" not in items
    assert not any(i.payment_id == month["other_agency"].id for i in items.values())
    harbor = _items(db, db.run(service.run, _agency_of(db, "BRC-4001"), period, lists).run_id)
    assert harbor[f"charge:{month['harbor']['latest_charge']}"].outcome == "matched"

    # Every balance transaction is kept, linked to its payment, classified by category.
    kept = {t.source_id: t for t in db.scalars(select(BalanceTransaction))}
    assert kept[paid_charge].payment_id == month["ours_paid"].id
    assert kept[month["stranger"]["latest_charge"]].payment_id is None
    (refund_txn,) = [t for t in kept.values() if t.reporting_category == "refund"]
    assert (refund_txn.amount_minor, refund_txn.payment_id) == (-1500, month["ours_paid"].id)


def test_running_the_month_twice_changes_nothing(own_stripe, db, month):
    lists = _lists(own_stripe)
    period = Period.of(datetime.now(UTC).date())
    demo = _agency_of(db, "NWB-1001")
    first = db.run(service.run, demo, period, lists)

    def versions():
        rows = database.session.execute(text(
            "SELECT 'txn:' || id, xmin::text FROM balance_transaction UNION ALL "
            "SELECT 'item:' || id, xmin::text FROM reconciliation_item UNION ALL "
            "SELECT 'run:' || id || ':' || changed_at, xmin::text FROM reconciliation_run"))
        return dict(rows.all())

    before = db.run(versions)
    second = db.run(service.run, demo, period, lists)
    assert (second.run_id, second.items, second.added, second.changed, second.removed) == (
        first.run_id, first.items, 0, 0, 0)
    after = db.run(versions)
    # No balance transaction or item was written again; the run row records only the check.
    assert {k: v for k, v in after.items() if not k.startswith("run:")} == \
        {k: v for k, v in before.items() if not k.startswith("run:")}
    assert [k for k in after if k.startswith("run:")] == [k for k in before
                                                           if k.startswith("run:")]
