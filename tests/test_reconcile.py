"""Reconciliation against responses shaped exactly as Stripe documents them (fees, a dispute whose
`type` is `adjustment`, automatic payouts listed with `balance_transactions?payout=`), the page a
supervisor reads, explanations of differences, and the statements' close gate `reconciled`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import stripe
from sqlalchemy import select

from portal.accounts.models import Account, Creditor
from portal.cases.service import Actor
from portal.demo import stripe_month
from portal.extensions import db as database
from portal.identity.audit import StaffAuditEntry
from portal.lenders import statements, trust
from portal.lenders.remittance import period_bounds
from portal.payments import applying, settlement
from portal.payments.models import BalanceTransaction, Payment
from portal.reconcile import review, service, stripe_lists
from portal.reconcile.models import ReconciliationItem
from portal.reconcile.period import ILLINOIS, Period
from portal.reconcile.stripe_lists import StripeLists
from tests.fixtures.stripe_pages import StripePages, serving

NOVEMBER = Period(2026, 11)
NOV_5 = int(datetime(2026, 11, 5, 12, tzinfo=UTC).timestamp())
NOV_20 = int(datetime(2026, 11, 20, 12, tzinfo=UTC).timestamp())
OCT_30 = int(datetime(2026, 10, 30, 12, tzinfo=UTC).timestamp())
DAY = 86400


def _txn(pages: StripePages, id_: str, source: str, amount: int, fee: int, created: int,
         type_: str, category: str, payout: str | None = None) -> dict:
    """A balance transaction as Stripe documents the object."""
    txn = {"id": id_, "object": "balance_transaction", "amount": amount,
           "available_on": created + 2 * DAY, "created": created, "currency": "usd",
           "description": None, "exchange_rate": None, "fee": fee,
           "fee_details": [{"amount": fee, "application": None, "currency": "usd",
                            "description": "Stripe processing fees", "type": "stripe_fee"}]
           if fee else [], "net": amount - fee, "reporting_category": category,
           "source": source, "status": "available", "type": type_}
    pages.add("/v1/balance_transactions", txn)
    if payout:
        pages.payouts.setdefault(payout, []).append(txn)
    return txn


def _charge(pages: StripePages, id_: str, intent: str, amount: int, created: int) -> dict:
    return pages.add("/v1/charges", {
        "id": id_, "object": "charge", "amount": amount, "amount_captured": amount,
        "amount_refunded": 0, "balance_transaction": f"txn_{id_}", "captured": True,
        "created": created, "currency": "usd", "disputed": False, "livemode": False,
        "metadata": {}, "paid": True, "payment_intent": intent, "refunded": False,
        "status": "succeeded"})


def _payout(pages: StripePages, id_: str, amount: int, created: int) -> dict:
    payout = pages.add("/v1/payouts", {
        "id": id_, "object": "payout", "amount": amount, "arrival_date": created + 2 * DAY,
        "automatic": True, "balance_transaction": f"txn_{id_}", "created": created,
        "currency": "usd", "description": "STRIPE PAYOUT", "destination": "ba_test",
        "livemode": False, "metadata": {}, "method": "standard",
        "reconciliation_status": "completed", "source_type": "card", "status": "paid",
        "type": "bank_account"})
    # The payout's own transaction, which `payout=` lists with the ones it paid out.
    pages.payouts.setdefault(id_, []).append({
        "id": f"txn_{id_}", "object": "balance_transaction", "amount": -amount,
        "available_on": created, "created": created, "currency": "usd", "fee": 0,
        "fee_details": [], "net": -amount, "reporting_category": "payout", "source": id_,
        "status": "available", "type": "payout"})
    return payout


def _paid_in_november(db, make_payment, reference: str, amount: int, charge_id: str,
                      charged_back: int = 0) -> Payment:
    payment = make_payment(reference, amount, "succeeded")

    def settle():
        row = database.session.get(Payment, payment.id)
        row.charge_id, row.succeeded_at = charge_id, datetime.fromtimestamp(NOV_5, UTC)
        row.charged_back_minor = charged_back
        return row

    return db.run(settle)


@pytest.fixture
def november(db, make_payment):
    """Stripe's November and ours: two payouts (one a cent short), a fee on every charge, a
    chargeback, and one Lumen payment Stripe charged a dollar more for."""
    pages = StripePages()
    paid = _paid_in_november(db, make_payment, "NWB-1001", 5000, "ch_paid")
    disputed = _paid_in_november(db, make_payment, "NWB-1002", 2000, "ch_disputed",
                                 charged_back=2000)
    lumen = _paid_in_november(db, make_payment, "LUM-1001", 1500, "ch_lumen")
    _charge(pages, "ch_paid", paid.payment_intent_id, 5000, NOV_5)
    _charge(pages, "ch_disputed", disputed.payment_intent_id, 2000, NOV_5)
    _charge(pages, "ch_lumen", lumen.payment_intent_id, 1600, NOV_5)
    _txn(pages, "txn_ch_paid", "ch_paid", 5000, 175, NOV_5, "charge", "charge", "po_1")
    _txn(pages, "txn_ch_disputed", "ch_disputed", 2000, 88, NOV_5, "charge", "charge", "po_1")
    _txn(pages, "txn_ch_lumen", "ch_lumen", 1600, 76, NOV_5, "charge", "charge", "po_2")
    pages.add("/v1/disputes", {
        "id": "du_1", "object": "dispute", "amount": 2000, "charge": "ch_disputed",
        "created": NOV_5 + DAY, "currency": "usd", "is_charge_refundable": False,
        "livemode": False, "metadata": {}, "payment_intent": disputed.payment_intent_id,
        "reason": "fraudulent", "status": "needs_response"})
    # Stripe's `type` for a dispute's withdrawal is `adjustment`: only the category says so.
    _txn(pages, "txn_du_1", "du_1", -2000, 1500, NOV_5 + DAY, "adjustment", "dispute", "po_1")
    # October's charge, paid out in November.
    _txn(pages, "txn_october", "ch_october", 900, 56, OCT_30, "charge", "charge", "po_1")
    _payout(pages, "po_1", 4825 + 1912 - 3500 + 844, NOV_20)
    _payout(pages, "po_2", 1525, NOV_20)  # one cent more than its transaction's net
    return dict(pages=pages, paid=paid, disputed=disputed, lumen=lumen)


def _agency(db) -> int:
    return db.scalar(select(Creditor.agency_id).join(Account).where(
        Account.reference == "NWB-1001"))


def _creditor(db, code: str) -> int:
    return db.scalar(select(Creditor.id).where(Creditor.code == code))


def _run(db, pages: StripePages, monkeypatch) -> service.RunResult:
    monkeypatch.setattr(stripe_lists, "PAGE", 2)
    with serving(pages) as url:
        lists = StripeLists(stripe.StripeClient("sk_test_fixture", base_addresses={"api": url}))
        return db.run(service.run, _agency(db), NOVEMBER, lists)


def test_payouts_fees_and_chargebacks_as_stripe_documents_them(db, november, monkeypatch):
    result = _run(db, november["pages"], monkeypatch)
    items = {i.key: i for i in db.scalars(select(ReconciliationItem).where(
        ReconciliationItem.run_id == result.run_id))}

    paid = items["charge:ch_paid"]
    assert (paid.outcome, paid.stripe_minor, paid.fee_minor, paid.net_minor, paid.payout_id) == (
        "matched", 5000, 175, 4825, "po_1")
    chargeback = items[f"chargebacks:{november['disputed'].id}"]
    assert (chargeback.outcome, chargeback.category, chargeback.stripe_minor,
            chargeback.ours_minor, chargeback.fee_minor) == ("matched", "dispute", -2000,
                                                             -2000, 1500)
    assert (items["payout:po_1"].outcome, items["payout:po_1"].stripe_minor) == ("matched", 4081)
    short = items["payout:po_2"]
    assert (short.outcome, short.stripe_minor, short.ours_minor) == ("difference", 1525, 1524)
    lumen = items["charge:ch_lumen"]
    assert (lumen.outcome, lumen.stripe_minor, lumen.ours_minor) == ("difference", 1600, 1500)
    # October's charge was paid out in November; it is no charge of November's.
    assert "charge:ch_october" not in items

    kept = {t.id: t for t in db.scalars(select(BalanceTransaction))}
    assert (kept["txn_du_1"].reporting_category, kept["txn_du_1"].type,
            kept["txn_du_1"].payment_id) == ("dispute", "adjustment", november["disputed"].id)
    assert kept["txn_october"].payout_id == "po_1" and kept["txn_po_1"].payout_id == "po_1"

    asked = november["pages"].requests
    start, end = int(NOVEMBER.start.timestamp()), int(NOVEMBER.end.timestamp())
    assert any(r.startswith("/v1/balance_transactions?") and f"created%5Bgte%5D={start}" in r
               and f"created%5Blt%5D={end}" in r for r in asked), asked
    assert any("payout=po_1" in r and "starting_after" in r for r in asked), asked
    assert any(r.startswith("/v1/disputes?") for r in asked)


def test_the_gate_holds_a_creditor_until_each_difference_is_explained(db, november, monkeypatch,
                                                                       demo_staff):
    agency, northwind, lumen = _agency(db), _creditor(db, "NWB"), _creditor(db, "LUM")
    assert db.run(review.reconciled, agency, northwind, NOVEMBER) == [
        "2026-11 has not been reconciled with Stripe."]
    _run(db, november["pages"], monkeypatch)
    assert db.run(review.reconciled, agency, northwind, "2026-11") == []
    (reason,) = db.run(review.reconciled, agency, lumen, NOVEMBER)
    assert reason == ("charge:ch_lumen: USD 16.00 at Stripe, USD 15.00 ours "
                      "(difference USD 1.00).")

    supervisor = db.run(lambda: database.session.scalar(
        select(review.StaffUser).where(review.StaffUser.email == "supervisor@demo.test")))
    db.run(review.explain, supervisor, NOVEMBER, "charge:ch_lumen",
           "Lumen's borrower paid a one dollar card surcharge, refunded by cheque.")
    assert db.run(review.reconciled, agency, lumen, NOVEMBER) == []
    (entry,) = db.scalars(select(StaffAuditEntry).where(
        StaffAuditEntry.kind == "difference_explained"))
    assert (entry.actor_id, entry.detail) == (supervisor.id, {
        "period": "2026-11", "item": "charge:ch_lumen", "difference_minor": 100,
        "currency": "USD"})

    # Stripe's amount moves: the explanation was for another difference, so the gate shuts.
    november["pages"].lists["/v1/balance_transactions"][2]["amount"] = 1700
    november["pages"].lists["/v1/balance_transactions"][2]["net"] = 1624
    assert db.run(lambda: database.session.get(BalanceTransaction, "txn_ch_lumen")) is not None
    db.run(lambda: database.session.execute(
        BalanceTransaction.__table__.delete().where(BalanceTransaction.id == "txn_ch_lumen")))
    _run(db, november["pages"], monkeypatch)
    assert db.run(review.reconciled, agency, lumen, NOVEMBER) == [
        "charge:ch_lumen: USD 17.00 at Stripe, USD 15.00 ours (difference USD 2.00)."]


@pytest.mark.parametrize(("key", "text", "message"), [
    ("charge:ch_lumen", "ok", "Say why in a few words"),
    ("charge:ch_paid", "It matched already, nothing to say.", "nothing to explain"),
])
def test_an_explanation_is_refused_and_nothing_written(db, november, monkeypatch, demo_staff,
                                                       key, text, message):
    _run(db, november["pages"], monkeypatch)
    supervisor = db.run(lambda: database.session.scalar(
        select(review.StaffUser).where(review.StaffUser.email == "supervisor@demo.test")))
    with pytest.raises(review.Refused) as refused:
        db.run(review.explain, supervisor, NOVEMBER, key, text)
    assert message in refused.value.message
    assert db.scalars(select(StaffAuditEntry).where(
        StaffAuditEntry.kind == "difference_explained")) == []


@pytest.mark.parametrize(("text", "taken"), [
    ("借款人多付", True),  # five characters, written without spaces, say enough
    ("多付", False),
])
def test_an_explanation_in_chinese_counts_its_characters_as_words(db, november, monkeypatch,
                                                                 demo_staff, text, taken):
    _run(db, november["pages"], monkeypatch)
    supervisor = db.run(lambda: database.session.scalar(
        select(review.StaffUser).where(review.StaffUser.email == "supervisor@demo.test")))
    if taken:
        db.run(review.explain, supervisor, NOVEMBER, "charge:ch_lumen", text)
    else:
        with pytest.raises(review.Refused, match="Say why in a few words"):
            db.run(review.explain, supervisor, NOVEMBER, "charge:ch_lumen", text)
    assert len(db.scalars(select(StaffAuditEntry).where(
        StaffAuditEntry.kind == "difference_explained"))) == int(taken)


def test_the_page_shows_sums_open_lines_and_takes_an_explanation_without_javascript(
        db, november, monkeypatch, person, demo, staff_sign_in):
    _run(db, november["pages"], monkeypatch)
    staff_sign_in(person, "supervisor@demo.test")
    page = person.get("/staff/reconciliation?period=2026-11")
    assert page.status == 200, page.text[:300]
    text = page.text
    # Matched card payments: two charges, $70.00, $2.63 of fees, $67.37 net.
    assert "Card payments USD 2 $70.00 $2.63 $67.37" in text
    assert "To look at (2)" in text
    assert "Amounts differ: Card payments" in text and "ch_lumen" in text
    assert "Amounts differ: Payouts" in text and "po_2" in text

    empty = person.client.post("/staff/reconciliation/explain", data={
        "csrf_token": person.csrf_token(), "period": "2026-11", "key": "payout:po_2",
        "text": ""})
    assert empty.status_code == 422 and "Say why this line is right." in empty.get_data(
        as_text=True)
    answer = person.client.post("/staff/reconciliation/explain", data={
        "csrf_token": person.csrf_token(), "period": "2026-11", "key": "payout:po_2",
        "text": "The bank rounded the payout; Stripe support case 12345."})
    assert answer.status_code == 303
    again = person.get(answer.headers["Location"])
    assert "Explained: The bank rounded the payout; Stripe support case 12345." in again.text
    missing = person.get("/staff/reconciliation?period=2026-13")
    assert missing.status == 404


def test_trust_accounting_owes_what_was_collected_less_reversals_and_flags_it_overdue(
        db, make_payment, app):
    paid = make_payment("NWB-1001", 5000, "succeeded")
    make_payment("NWB-1002", 2500, "succeeded")
    db.run(applying.apply_refund, {"id": f"ch_test_{paid.id}", "payment_intent":
                                   paid.payment_intent_id, "amount_refunded": 1000,
                                   "metadata": {}}, Actor.system("test"))
    agency, northwind = _agency(db), _creditor(db, "NWB")
    today = datetime.now(UTC).date()
    this_month = Period.of(today)
    (line,) = [x for x in db.run(trust.ledger, agency, today=today)
               if x.creditor_id == northwind and x.period == this_month]
    assert (line.collected, line.remitted, line.owed, line.currency) == (6500, 0, 6500, "USD")
    # Washington's rule until the agency sets one: 30 days after the month's end.
    assert line.due == this_month.last_day + timedelta(days=30)
    assert not line.overdue(today) and line.overdue(line.due + timedelta(days=1))

    runner = app.test_cli_runner()
    said = runner.invoke(args=["reconcile", "deadline", "--agency", "Demo Collections",
                               "--days", "5", "--business-days"])
    assert said.exit_code == 0, said.output
    assert "remit within 5 business days" in said.output
    (line,) = [x for x in db.run(trust.ledger, agency, today=today)
               if x.creditor_id == northwind and x.period == this_month]
    assert line.due == ILLINOIS.due(this_month)
    refused = runner.invoke(args=["reconcile", "run", "--period", "2026-13"])
    assert refused.exit_code != 0 and "not a month like 2026-11" in refused.output


def test_the_command_runs_a_month_and_says_what_it_found(db, november, monkeypatch, app):
    monkeypatch.setattr(stripe_lists, "PAGE", 2)
    with serving(november["pages"]) as url:
        monkeypatch.setattr(stripe_lists.StripeLists, "of_gateway", classmethod(
            lambda cls: cls(stripe.StripeClient("sk_test_fixture",
                                                base_addresses={"api": url}))))
        said = app.test_cli_runner().invoke(
            args=["reconcile", "run", "--period", "2026-11", "--agency", "Demo Collections"])
        # The spelling, `lenders reconcile`, is the same command.
        again = app.test_cli_runner().invoke(
            args=["lenders", "reconcile", "--period", "2026-11", "--agency", "Demo Collections"])
        every = app.test_cli_runner().invoke(args=["reconcile", "run", "--period", "2026-11"])
    assert said.exit_code == 0, said.output
    assert "2026-11: 6 lines, 2 to look at (6 new, 0 changed, 0 gone)" in said.output
    assert "2026-11: 6 lines, 2 to look at (0 new, 0 changed, 0 gone)" in again.output
    # Every agency (as the hourly job runs it): Harbor's month holds only the payouts, which
    # belong to no agency.
    harbor = db.scalar(select(Creditor.agency_id).where(Creditor.code == "BRC"))
    assert f"agency {_agency(db)} 2026-11: 6 lines, 2 to look at (0 new" in every.output
    assert f"agency {harbor} 2026-11: 2 lines, 1 to look at (2 new" in every.output


def test_trust_accounting_counts_what_the_months_closed_statement_disposed_of(db, make_payment):
    paid = make_payment("NWB-1001", 5000, "succeeded")
    today = datetime.now(UTC).date()
    this_month = Period.of(today)

    def settle_and_close():
        row = database.session.get(Payment, paid.id)
        settlement.record({"id": f"txn_trust_{row.id}", "object": "balance_transaction",
                           "type": "charge", "reporting_category": "charge",
                           "source": row.charge_id, "amount": 5000, "fee": 0, "net": 5000,
                           "currency": "usd", "status": "available",
                           "created": int(row.succeeded_at.timestamp()),
                           "available_on": int(row.succeeded_at.timestamp())}, row.id)
        end = period_bounds(str(this_month))[1]
        stripe_month.reconcile(agency, this_month, end)
        return statements.close_in_transaction("NWB", str(this_month), "test", now=end)

    agency, northwind = _agency(db), _creditor(db, "NWB")
    before = [x for x in db.run(trust.ledger, agency, today=today)
              if x.creditor_id == northwind and x.period == this_month]
    db.run(settle_and_close)
    (line,) = [x for x in db.run(trust.ledger, agency, today=today)
               if x.creditor_id == northwind and x.period == this_month]
    assert line.remitted - sum(x.remitted for x in before) == 5000
    assert line.owed == line.collected - line.remitted
