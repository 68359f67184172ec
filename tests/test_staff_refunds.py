"""Staff refund a card payment (issue 16's walkthrough): against localstripe with the real stripe
library, from the case page's form and the command line. A partial refund then the rest; what
may not be refunded is refused with nothing written and Stripe never called; another agency's
payment is not found; an agent may not; a double submit refunds once; Stripe down says so and
writes nothing; the webhook arriving later changes nothing; and the month's reconciliation with
Stripe matches the charge and its refunds."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from portal.accounts.models import Account, Creditor, LedgerEntry
from portal.cases.models import CaseEvent
from portal.extensions import db as database
from portal.identity.models import StaffUser
from portal.lenders import remittance, statements
from portal.money import Money
from portal.payments import refunds
from portal.payments.gateway import EXTENSION
from portal.payments.models import Payment, StaffRefund
from portal.reconcile import service as reconcile_service
from portal.reconcile.period import Period
from tests.conftest import own_database_app
from tests.fixtures.factories import paid_by_card
from tests.fixtures.stripe import event
from tests.test_reconcile_localstripe import _items, _lists
from tests.test_stripe_faults import _closed_port, _unreachable

SUPERVISOR = "supervisor@demo.test"
REASON = "Borrower paid twice by mistake"


@pytest.fixture
def paid(app, db, stripe_emulator):
    """A 50.00 card payment on NWB-1001, charged at localstripe and posted to our ledger."""
    return paid_by_card(app, stripe_emulator, "NWB-1001", 5000)


def _stripe_refunds(emulator, payment) -> list[int]:
    return [r.amount for r in emulator.client.v1.refunds.list(
        {"charge": payment.charge_id}).auto_paging_iter()]


def _state(db, payment) -> tuple:
    """What a refund writes: the payment's refunded total, its ledger entries, its case events,
    its staff refunds."""
    def read():
        row = database.session.get(Payment, payment.id)
        return (row.refunded_minor,
                database.session.scalar(select(func.count()).select_from(LedgerEntry).where(
                    LedgerEntry.account_id == row.account_id)),
                database.session.scalar(select(func.count()).select_from(CaseEvent).where(
                    CaseEvent.account_id == row.account_id)),
                database.session.scalar(select(func.count()).select_from(StaffRefund)))
    return db.run(read)


def _refund_page(person, payment):
    path = f"/staff/accounts/NWB-1001/payments/{payment.public_id}/refund"
    return person.get(path), path


@pytest.fixture
def supervisor(make_person, staff_sign_in, demo):
    person = make_person()
    staff_sign_in(person, SUPERVISOR)
    return person


def test_a_partial_refund_then_the_rest_from_the_case_page(supervisor, db, paid,
                                                           stripe_emulator):
    case = supervisor.get("/staff/accounts/NWB-1001")
    action = f"/payments/{paid.public_id}/refund"
    form = case.form(action)
    assert form.find_parent("details") is not None  # the payment list's own form
    prefix = f"refund-{paid.public_id.hex[:12]}"
    done = supervisor.submit(case, {f"{prefix}-amount": "10.00", f"{prefix}-reason": REASON},
                             action=action)
    assert done.status == 200 and done.url.endswith("/staff/accounts/NWB-1001"), done.text[:300]
    assert "Refunded $10.00 of payment" in done.text
    assert "$10.00 refunded by" in done.text and REASON in done.text  # the reason, shown
    assert _stripe_refunds(stripe_emulator, paid) == [1000]
    assert _state(db, paid)[0] == 1000

    # The rest, from the refund page itself (the same form, on its own).
    page, path = _refund_page(supervisor, paid)
    assert page.status == 200 and "$40.00" in page.text
    done = supervisor.submit(page, {f"{prefix}-amount": "40.00",
                                    f"{prefix}-reason": "Dispute resolved for the borrower"},
                             action="/refund")
    assert "Refunded $40.00" in done.text
    assert sorted(_stripe_refunds(stripe_emulator, paid)) == [1000, 4000]
    refunded, *_ = _state(db, paid)
    assert refunded == 5000
    # The ledger took both back, through the webhook's own function, and the record says who.
    reversals = db.scalars(select(LedgerEntry).where(
        LedgerEntry.account_id == paid.account_id,
        LedgerEntry.description.like("Refund of card payment%")))
    assert sorted(e.amount_minor for e in reversals) == [1000, 4000]
    kinds = db.scalars(select(CaseEvent.kind).where(
        CaseEvent.account_id == paid.account_id,
        CaseEvent.kind.in_(["payment.refunded", "payment.refund_issued"])))
    assert sorted(kinds) == ["payment.refund_issued"] * 2 + ["payment.refunded"] * 2
    issued = db.scalars(select(CaseEvent).where(CaseEvent.kind == "payment.refund_issued"))
    assert all(e.actor_type == "staff" and REASON not in str(e.data) for e in issued)
    # Nothing left to refund: the case page offers no form for it any more.
    assert action not in str(supervisor.get("/staff/accounts/NWB-1001").soup)


@pytest.mark.parametrize(("amount", "reason", "says", "field"), [
    ("50.01", REASON, "At most $50.00 of this payment can still be refunded.", "amount"),
    ("0", REASON, "The amount must be more than zero.", "amount"),
    ("ten", REASON, "Give the amount as a number, like 25.00.", "amount"),
    ("10.001", REASON, "Give the amount as a number, like 25.00.", "amount"),
    ("10.00", "overpaid", "Say why in a few words", "reason"),
    ("10.00", "", "Give the reason for the refund.", "reason"),
])
def test_what_may_not_be_refunded_is_refused_by_its_field_and_stripe_is_not_called(
        supervisor, db, paid, stripe_emulator, amount, reason, says, field):
    before = _state(db, paid)
    page, path = _refund_page(supervisor, paid)
    prefix = f"refund-{paid.public_id.hex[:12]}"
    refused = supervisor.submit(page, {f"{prefix}-amount": amount, f"{prefix}-reason": reason},
                                 action="/refund")
    assert refused.status == 422, refused.text[:300]
    error = refused.soup.find(id=f"{prefix}-{field}-error")
    assert error is not None and says in error.get_text(), refused.text[:500]
    assert refused.soup.find(id=f"{prefix}-{field}")["aria-describedby"].endswith(
        f"{prefix}-{field}-error")
    assert _state(db, paid) == before
    assert _stripe_refunds(stripe_emulator, paid) == []


def test_another_agencys_payment_is_not_found_and_an_agent_may_not(
        make_person, staff_sign_in, demo, db, paid, stripe_emulator):
    harbor = make_person()
    staff_sign_in(harbor, "supervisor@harbor.test")
    path = f"/staff/accounts/NWB-1001/payments/{paid.public_id}/refund"
    token = harbor.csrf_token()
    assert harbor.client.get(path).status_code == 404
    assert harbor.client.post(path, data={"csrf_token": token}).status_code == 404
    agent = make_person()
    staff_sign_in(agent, "agent@demo.test")
    assert agent.client.post(path, data={"csrf_token": agent.csrf_token()}).status_code == 403
    case = agent.get("/staff/accounts/NWB-1001")
    payments = case.soup.find(id="payments")
    assert "/refund" not in str(payments)  # no form for them, but the reason why not
    assert "may not refund a card payment: only supervisor, admin may." in payments.get_text()
    # The payment on the wrong account's address is not found either.
    wrong = f"/staff/accounts/NWB-1002/payments/{paid.public_id}/refund"
    supervisor = make_person()
    staff_sign_in(supervisor, SUPERVISOR)
    assert supervisor.client.get(wrong).status_code == 404
    assert _stripe_refunds(stripe_emulator, paid) == []


def test_the_same_form_sent_twice_refunds_once(supervisor, db, paid, stripe_emulator):
    page, path = _refund_page(supervisor, paid)
    prefix = f"refund-{paid.public_id.hex[:12]}"
    fields = {f"{prefix}-amount": "10.00", f"{prefix}-reason": REASON}
    first = supervisor.submit(page, fields, action="/refund")
    assert "Refunded $10.00" in first.text
    # The same page's form again: a double click, a reload.
    again = supervisor.submit(page, fields, action="/refund")
    assert again.status == 409
    assert "This payment was refunded since you opened the page" in again.text
    assert _stripe_refunds(stripe_emulator, paid) == [1000]
    assert _state(db, paid)[0] == 1000


def test_a_refund_under_way_is_not_made_again(supervisor, db, paid, stripe_emulator, demo):
    """A second request while the first holds the payment's claim (between its Stripe call and
    its commit) is refused; Stripe is not called for it."""
    def claim():
        staff_id = database.session.scalar(select(StaffUser.id).where(
            StaffUser.email == SUPERVISOR))
        database.session.add(StaffRefund(
            payment_id=paid.id, staff_id=staff_id, amount_minor=1000,
            currency="USD", refunded_before=0, reason="Someone else's click",
            status="pending", created_at=datetime.now(UTC)))

    db.run(claim)
    page, path = _refund_page(supervisor, paid)
    prefix = f"refund-{paid.public_id.hex[:12]}"
    refused = supervisor.submit(page, {f"{prefix}-amount": "10.00", f"{prefix}-reason": REASON},
                                 action="/refund")
    assert refused.status == 409 and "already under way" in refused.text
    assert _stripe_refunds(stripe_emulator, paid) == []


def test_a_claim_left_by_a_request_that_died_is_taken_over(supervisor, db, paid,
                                                            stripe_emulator):
    """A claim older than refunds.STALE (its request died between claiming and applying) no
    longer blocks the payment: the next refund replaces it, and one record is kept."""
    def claim():
        staff_id = database.session.scalar(select(StaffUser.id).where(
            StaffUser.email == SUPERVISOR))
        database.session.add(StaffRefund(
            payment_id=paid.id, staff_id=staff_id, amount_minor=1000, currency="USD",
            refunded_before=0, reason="A request that died", status="pending",
            created_at=datetime.now(UTC) - refunds.STALE - timedelta(seconds=1)))

    db.run(claim)
    page, path = _refund_page(supervisor, paid)
    prefix = f"refund-{paid.public_id.hex[:12]}"
    done = supervisor.submit(page, {f"{prefix}-amount": "10.00", f"{prefix}-reason": REASON},
                             action="/refund")
    assert "Refunded $10.00" in done.text
    rows = db.run(lambda: database.session.execute(
        select(StaffRefund.status, StaffRefund.reason).where(StaffRefund.payment_id == paid.id))
        .all())
    assert [tuple(r) for r in rows] == [("done", REASON)]
    assert _stripe_refunds(stripe_emulator, paid) == [1000]


def test_stripe_down_says_so_and_writes_nothing(app, monkeypatch, supervisor, db, paid,
                                                stripe_emulator):
    before = _state(db, paid)
    _unreachable(app, monkeypatch, f"http://127.0.0.1:{_closed_port()}", timeout=1)
    page, path = _refund_page(supervisor, paid)
    prefix = f"refund-{paid.public_id.hex[:12]}"
    refused = supervisor.submit(page, {f"{prefix}-amount": "10.00", f"{prefix}-reason": REASON},
                                 action="/refund")
    assert refused.status == 503
    assert "Nothing was refunded or recorded" in refused.text
    assert _state(db, paid) == before  # not even the claim is left
    monkeypatch.undo()  # Stripe is back: the same form goes through, once
    done = supervisor.submit(page, {f"{prefix}-amount": "10.00", f"{prefix}-reason": REASON},
                                 action="/refund")
    assert "Refunded $10.00" in done.text
    assert _stripe_refunds(stripe_emulator, paid) == [1000]


def test_the_webhook_for_the_same_refund_changes_nothing(supervisor, db, paid, stripe_emulator,
                                                         post_event):
    from portal.payments import inbox

    page, path = _refund_page(supervisor, paid)
    prefix = f"refund-{paid.public_id.hex[:12]}"
    supervisor.submit(page, {f"{prefix}-amount": "10.00", f"{prefix}-reason": REASON},
                                 action="/refund")
    before = _state(db, paid)
    charge = stripe_emulator.client.v1.charges.retrieve(paid.charge_id).to_dict()
    assert charge["amount_refunded"] == 1000
    assert post_event(event("charge.refunded", charge)).status_code == 200
    assert db.run(inbox.apply_received, 10).get("applied") == 1
    assert _state(db, paid) == before


def test_the_command_line_refunds_as_the_staff_member(app, db, paid, stripe_emulator, demo):
    from portal.payments.cli import refund_command

    runner = app.test_cli_runner()
    refused = runner.invoke(refund_command, [paid.receipt_number, "--amount", "10.00",
                                             "--reason", REASON, "--staff", "agent@demo.test"])
    assert refused.exit_code != 0 and "may not refund a card payment" in refused.output
    other = runner.invoke(refund_command, [paid.receipt_number, "--amount", "10.00",
                                           "--reason", REASON,
                                           "--staff", "supervisor@harbor.test"])
    assert other.exit_code != 0 and "no receipt" in other.output
    done = runner.invoke(refund_command, [paid.receipt_number, "--amount", "10.00",
                                          "--reason", REASON, "--staff", SUPERVISOR])
    assert done.exit_code == 0, done.output
    assert "USD 10.00 refunded in all" in done.output
    assert _stripe_refunds(stripe_emulator, paid) == [1000]


def test_the_month_reconciles_the_charge_and_the_refunds(supervisor, db, paid, stripe_emulator):
    """The walkthrough: a payment, a refund by staff, and the month's run at Stripe matches
    both (localstripe sends no refund webhook: the refund reached our books by the form)."""
    page, path = _refund_page(supervisor, paid)
    prefix = f"refund-{paid.public_id.hex[:12]}"
    supervisor.submit(page, {f"{prefix}-amount": "15.00", f"{prefix}-reason": REASON},
                                 action="/refund")
    agency = db.scalar(select(Creditor.agency_id).join(
        Account, Account.creditor_id == Creditor.id).where(Account.reference == "NWB-1001"))
    result = db.run(reconcile_service.run, agency, Period.of(datetime.now(UTC).date()),
                    _lists(stripe_emulator))
    items = _items(db, result.run_id)
    charge = items[f"charge:{paid.charge_id}"]
    assert (charge.outcome, charge.stripe_minor, charge.ours_minor, charge.payment_id) == (
        "matched", 5000, 5000, paid.id)
    given = items[f"refunds:{paid.id}"]
    assert (given.outcome, given.stripe_minor, given.ours_minor) == ("matched", -1500, -1500)

    def statement_line():  # the month's statement, as it would close now, shows both
        creditor = database.session.scalar(select(Creditor).where(Creditor.code == "NWB"))
        found = statements.draft(creditor, remittance.period_of(datetime.now(UTC)))
        return [(line.collected, line.refunded) for line in found.lines
                if line.account_id == paid.account_id]

    assert db.run(statement_line) == [(5000, 1500)]


@pytest.fixture
def own_app(server_url, worker, stripe_emulator):
    """The app on a database of this test's own, committed for real: two requests at once need
    two connections, which a test's rolled-back database cannot give."""
    with own_database_app(server_url, f"portal_refund_race_{worker}",
                          stripe_emulator.url) as application:
        yield application


class _Held:
    """The app's gateway, holding its refund calls until released: a request caught between
    its claim and Stripe's answer."""

    def __init__(self, real):
        self.real = real
        self.calls: list[tuple] = []
        self.entered = threading.Event()
        self.release = threading.Event()

    def __getattr__(self, name):
        return getattr(self.real, name)

    def refund(self, *args, **kwargs):
        self.calls.append(args)
        self.entered.set()
        assert self.release.wait(30), "never released"
        return self.real.refund(*args, **kwargs)


def test_two_requests_at_once_refund_once(own_app, stripe_emulator, monkeypatch):
    """Two clicks at once, each its own request and connection: the second, arriving while the
    first waits on Stripe, is refused, and Stripe is asked once."""
    payment = paid_by_card(own_app, stripe_emulator, "NWB-1001", 5000)
    held = _Held(own_app.extensions[EXTENSION])
    monkeypatch.setitem(own_app.extensions, EXTENSION, held)

    def as_supervisor():
        staff = database.session.scalar(select(StaffUser).where(StaffUser.email == SUPERVISOR))
        return refunds.refund(staff, payment.public_id, Money(1000, "USD"), REASON,
                              seen_refunded=0)

    outcome: dict = {}

    def first():
        with own_app.app_context():
            try:
                outcome["first"] = as_supervisor().refunded_minor
            except BaseException as error:  # reported in the test's thread
                outcome["first"] = error

    thread = threading.Thread(target=first)
    thread.start()
    try:
        assert held.entered.wait(30), "the first request never reached Stripe"
        with own_app.app_context(), pytest.raises(refunds.RefundRefused) as second:
            as_supervisor()
    finally:
        held.release.set()
        thread.join(30)
    assert second.value.status == 409 and "already under way" in second.value.message
    assert outcome["first"] == 1000
    assert len(held.calls) == 1
    assert _stripe_refunds(stripe_emulator, payment) == [1000]
    with own_app.app_context():
        rows = database.session.execute(select(StaffRefund.status, StaffRefund.amount_minor)
                                        .where(StaffRefund.payment_id == payment.id)).all()
    assert [tuple(r) for r in rows] == [("done", 1000)]
