"""The worker applies kept Stripe events in batches (`inbox._apply_batch`): many in one
transaction, each in a savepoint of its own, their receipts written together. Still exactly once:
an event that fails is undone alone (its receipt with it) and retried; two workers on one queue
split the events between them and apply each once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from portal.accounts import allocation, ledger
from portal.accounts.models import Account, LedgerEntry
from portal.cases.models import CaseEvent
from portal.messaging.models import CapturedMessage
from portal.outbox.models import OutboxMessage
from portal.payments import inbox, receipts
from portal.payments.models import Payment, StripeEvent
from tests.conftest import own_database_app
from tests.fixtures.stripe import event

WAIT = 20  # seconds for what should take well under one


def succeeded(payment: Payment, charge: str) -> dict:
    return event("payment_intent.succeeded", {
        "id": payment.payment_intent_id, "object": "payment_intent",
        "amount": payment.amount_minor, "currency": payment.currency.lower(),
        "status": "succeeded", "latest_charge": charge, "metadata": {}})


def count(db, model, *where) -> int:
    return db.scalar(select(func.count()).select_from(model).where(*where))


def test_a_batch_applies_its_events_once_and_a_repeat_changes_nothing(db, demo, make_payment,
                                                                      post_event):
    payments = [make_payment(ref, 1000 + n, "pending") for n, ref in
                enumerate(["LUM-1001", "NWB-1002", "LUM-1001", "BRC-4001"])]
    events = [succeeded(p, f"ch_batch_{p.id}") for p in payments]
    for evt in events:
        assert post_event(evt).json == {"received": "queued"}
    assert db.run(inbox.apply_received) == {"applied": 4}  # one transaction: 4 < 50
    ids = [p.id for p in payments]
    assert count(db, LedgerEntry, LedgerEntry.payment_id.in_(ids)) == 4
    assert count(db, Payment, Payment.id.in_(ids), Payment.status == "succeeded") == 4
    assert count(db, CapturedMessage, CapturedMessage.kind == "payment_receipt") == 4
    kept = db.scalars(select(StripeEvent).where(StripeEvent.id.in_([e["id"] for e in events])))
    assert {(k.status, k.attempts) for k in kept} == {("applied", 1)}
    # Stripe sends them all again: duplicates, nothing more applied.
    for evt in events:
        assert post_event(evt).json == {"received": "duplicate"}
    assert db.run(inbox.apply_received) == {}
    assert count(db, LedgerEntry, LedgerEntry.payment_id.in_(ids)) == 4
    assert count(db, CapturedMessage, CapturedMessage.kind == "payment_receipt") == 4


def test_an_event_that_fails_in_a_batch_is_kept_failed_and_retried(db, demo, make_payment,
                                                                   post_event):
    payments = [make_payment(ref, 2000 + n, "pending")
                for n, ref in enumerate(["LUM-1001", "NWB-1002", "BRC-4001"])]
    events = [succeeded(p, f"ch_fails_{p.id}") for p in payments]
    for evt in events:
        assert post_event(evt).json == {"received": "queued"}
    # Before the worker gets to it, the middle payment has become another PaymentIntent's.
    db.execute(Payment.__table__.update().where(Payment.id == payments[1].id)
               .values(payment_intent_id="pi_another_one"))
    now = datetime.now(UTC)
    assert db.run(inbox.apply_received, now=now) == {"applied": 2, "failed": 1}
    good = [payments[0].id, payments[2].id]
    assert count(db, LedgerEntry, LedgerEntry.payment_id.in_(good)) == 2
    assert count(db, LedgerEntry, LedgerEntry.payment_id == payments[1].id) == 0
    assert count(db, CapturedMessage, CapturedMessage.kind == "payment_receipt") == 2
    failed = db.scalar(select(StripeEvent).where(StripeEvent.id == events[1]["id"]))
    assert (failed.status, failed.error, failed.attempts) == ("failed", "UnknownPayment", 1)
    assert failed.next_attempt_at == now + inbox.FIRST_RETRY
    # Put right; not due yet, then due: it applies, once.
    db.execute(Payment.__table__.update().where(Payment.id == payments[1].id)
               .values(payment_intent_id=events[1]["data"]["object"]["id"]))
    assert db.run(inbox.apply_received, now=now + timedelta(seconds=10)) == {}
    assert db.run(inbox.apply_received, now=now + timedelta(seconds=31)) == {"applied": 1}
    ids = [p.id for p in payments]
    assert count(db, LedgerEntry, LedgerEntry.payment_id.in_(ids)) == 3
    assert count(db, CapturedMessage, CapturedMessage.kind == "payment_receipt") == 3
    assert db.scalar(select(StripeEvent.attempts).where(StripeEvent.id == events[1]["id"])) == 2


def test_when_applying_together_fails_each_goes_alone_and_a_failing_one_is_undone_alone(
        db, demo, make_payment, post_event, monkeypatch):
    payments = [make_payment(ref, 2000 + n, "pending")  # their receipts go out together
                for n, ref in enumerate(["LUM-1001", "NWB-1002", "BRC-4001"])]
    events = [succeeded(p, f"ch_alone_{p.id}") for p in payments]
    for evt in events:
        assert post_event(evt).json == {"received": "queued"}
    together, alone = inbox.succeed_many, inbox.apply_event
    bad = events[1]["id"]

    def together_then_failing(*args):
        together(*args)  # every row written, then undone
        raise RuntimeError("the database said no")

    def alone_failing_after_its_writes(evt, *more):
        payment = alone(evt, *more)  # the ledger entry, case events, outbox; receipt queued
        if evt["id"] == bad:
            raise RuntimeError("the database said no")
        return payment

    monkeypatch.setattr(inbox, "succeed_many", together_then_failing)
    monkeypatch.setattr(inbox, "apply_event", alone_failing_after_its_writes)
    now = datetime.now(UTC)
    assert db.run(inbox.apply_received, now=now) == {"applied": 2, "failed": 1}
    good = [payments[0].id, payments[2].id]
    assert count(db, LedgerEntry, LedgerEntry.payment_id.in_(good)) == 2
    # The failed one's writes are undone, its receipt with them; the others' stand, once.
    assert count(db, LedgerEntry, LedgerEntry.payment_id == payments[1].id) == 0
    assert db.scalar(select(Payment.status).where(Payment.id == payments[1].id)) == "pending"
    assert count(db, CapturedMessage, CapturedMessage.kind == "payment_receipt") == 2
    assert count(db, OutboxMessage, OutboxMessage.topic == "payment.succeeded") == 2
    assert count(db, CaseEvent, CaseEvent.kind == "payment.succeeded") == 2
    failed = db.scalar(select(StripeEvent).where(StripeEvent.id == bad))
    assert (failed.status, failed.error, failed.attempts) == ("failed", "RuntimeError", 1)
    monkeypatch.setattr(inbox, "succeed_many", together)
    monkeypatch.setattr(inbox, "apply_event", alone)
    assert db.run(inbox.apply_received, now=now + timedelta(seconds=31)) == {"applied": 1}
    ids = [p.id for p in payments]
    assert count(db, LedgerEntry, LedgerEntry.payment_id.in_(ids)) == 3
    assert count(db, CapturedMessage, CapturedMessage.kind == "payment_receipt") == 3


def test_together_or_alone_an_event_writes_the_same_rows(db, demo, make_payment, post_event,
                                                         monkeypatch):
    """The batch's quick path for plain successes and the one-by-one path write the same facts."""

    #: What names the one payment, entry or attempt, so differs between any two.
    own = ("payment", "receipt", "stripe_reference", "entry", "attempt", "at")

    def facts(payment):
        mine = db.scalar(select(Payment).where(Payment.id == payment.id))
        entry = db.scalar(select(LedgerEntry).where(LedgerEntry.payment_id == payment.id))
        events = db.scalars(select(CaseEvent).where(
            CaseEvent.account_id == payment.account_id, CaseEvent.id > since)
            .order_by(CaseEvent.seq))
        outbox = db.scalar(select(OutboxMessage.payload).where(
            OutboxMessage.topic == "payment.succeeded",
            OutboxMessage.payload["payment"].astext == str(payment.public_id)))
        return ((entry.kind, entry.amount_minor, entry.allocation,
                 entry.description == f"Card payment {mine.receipt_number}"),
                [(e.kind, {k: v for k, v in e.data.items() if k not in own}) for e in events],
                {k: v for k, v in outbox.items() if k not in own},
                (mine.status, mine.charge_id is not None, mine.succeeded_at is not None))

    def split_now(payment):
        """How the ledger's own rule splits this payment over what its account owes now."""
        def split():
            account = db.database.session.get(Account, payment.account_id)
            return allocation.allocate(payment.amount_minor, ledger.outstanding(
                ledger.entries_of(account.id)), ledger._order(account))
        return db.run(split)

    def without_split(found):
        entry, events, outbox, status = found
        return (entry[:2] + entry[3:],
                [(kind, {k: v for k, v in data.items() if k != "allocation"})
                 for kind, data in events],
                {k: v for k, v in outbox.items() if k != "allocation"}, status)

    since = db.scalar(select(func.max(CaseEvent.id)))
    quick = make_payment("NWB-1002", 4321, "pending")
    quick_split = split_now(quick)
    assert post_event(succeeded(quick, "ch_quick")).json == {"received": "queued"}
    assert db.run(inbox.apply_received) == {"applied": 1}
    quick_facts = facts(quick)
    since = db.scalar(select(func.max(CaseEvent.id)))
    monkeypatch.setattr(inbox, "can_succeed", lambda payment, result: False)  # one by one
    slow = make_payment("NWB-1002", 4321, "pending")
    slow_split = split_now(slow)
    assert quick_split != slow_split  # the first paid the fees and interest: a real check
    assert post_event(succeeded(slow, "ch_slow")).json == {"received": "queued"}
    assert db.run(inbox.apply_received) == {"applied": 1}
    slow_facts = facts(slow)
    for found, split in ((quick_facts, quick_split), (slow_facts, slow_split)):
        entry, events, outbox, _status = found
        assert entry[2] == split and outbox["allocation"] == split
        assert [data.get("allocation") for kind, data in events
                if kind == "payment.succeeded"] == [split]
    assert without_split(quick_facts) == without_split(slow_facts)
    assert [kind for kind, _data in quick_facts[1]] == [
        "ledger.posted", "payment.succeeded", "contact.attempt_recorded"]


def test_receipts_that_cannot_be_written_never_undo_the_batch(db, demo, make_payment, post_event,
                                                              monkeypatch):
    payments = [make_payment("LUM-1001", 1500 + n, "pending") for n in range(2)]
    for p in payments:
        assert post_event(succeeded(p, f"ch_noreceipt_{p.id}")).json == {"received": "queued"}

    def broken(items, channel, at):
        raise RuntimeError("template missing")

    monkeypatch.setattr(receipts, "notify_many", broken)
    assert db.run(inbox.apply_received) == {"applied": 2}
    ids = [p.id for p in payments]
    assert count(db, LedgerEntry, LedgerEntry.payment_id.in_(ids)) == 2
    assert count(db, CapturedMessage, CapturedMessage.kind == "payment_receipt") == 0


def test_a_second_receipt_for_one_account_is_judged_after_the_first(db, demo, make_payment,
                                                                    post_event):
    """Two payments of one account in one batch: two receipts, each with its contact attempt."""
    payments = [make_payment("LUM-1001", 1100 + n, "pending") for n in range(2)]
    for p in payments:
        assert post_event(succeeded(p, f"ch_twice_{p.id}")).json == {"received": "queued"}
    assert db.run(inbox.apply_received) == {"applied": 2}
    sent = db.scalars(select(CapturedMessage.subject).where(
        CapturedMessage.kind == "payment_receipt"))
    assert sorted(sent) == sorted(f"Your payment receipt {p.receipt_number}" for p in payments)
    attempts = db.scalar(select(func.count()).select_from(CaseEvent).where(
        CaseEvent.kind == "contact.attempt_recorded",
        CaseEvent.actor_id == "messaging:payment_receipt"))
    assert attempts == 2


# --- two workers, real transactions on a database of this test's own --------------------------


@pytest.fixture(scope="module")
def committed_app(server_url, worker):
    with own_database_app(server_url, f"portal_batches_{worker}") as application:
        yield application


def test_two_workers_on_one_queue_apply_each_event_once(committed_app, monkeypatch):
    from portal.cases.service import verify_all
    from portal.extensions import db as database

    references = ["LUM-1001", "NWB-1002", "BRC-4001", "NWB-1001"]
    with committed_app.app_context():
        accounts = database.session.scalars(select(Account).where(
            Account.reference.in_(references))).all()
        payments = [Payment(borrower_id=a.borrower_id, account_id=a.id, amount_minor=500 + n,
                            currency=a.currency, choice="other", status="pending",
                            payment_intent_id=f"pi_two_workers_{a.id}_{n}")
                    for n in range(6) for a in accounts]  # each account paid six times
        database.session.add_all(payments)
        database.session.commit()
        events = [succeeded(p, f"ch_two_workers_{p.id}") for p in payments]
        for evt in events:
            assert inbox.receive_event(evt) == "queued"
        ids = [p.id for p in payments]

    monkeypatch.setattr(inbox, "EVENTS_PER_TRANSACTION", 5)
    real = inbox.succeed_many
    both_in_a_batch = threading.Barrier(2)
    met = set()

    def meeting(*args):
        # Each worker's first batch waits until the other holds a batch too: their claims
        # overlap in time, so the second one's skipped the rows the first had locked.
        me = threading.current_thread().name
        if me not in met:
            met.add(me)
            both_in_a_batch.wait(WAIT)
        return real(*args)

    monkeypatch.setattr(inbox, "succeed_many", meeting)
    results, errors = {}, []

    def work():
        try:
            with committed_app.app_context():
                results[threading.current_thread().name] = inbox.apply_received(100)
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=work, name=name) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT * 3)
    assert not errors and not any(t.is_alive() for t in threads)

    assert results["a"].get("applied") and results["b"].get("applied")
    assert results["a"]["applied"] + results["b"]["applied"] == len(events)
    assert "failed" not in results["a"] and "failed" not in results["b"]
    with committed_app.app_context():
        s = database.session
        kept = s.execute(select(StripeEvent.status, StripeEvent.attempts, func.count())
                         .group_by(StripeEvent.status, StripeEvent.attempts)).all()
        assert [tuple(k) for k in kept] == [("applied", 1, len(events))]  # none claimed twice
        per_payment = s.execute(select(LedgerEntry.payment_id, func.count()).where(
            LedgerEntry.payment_id.in_(ids)).group_by(LedgerEntry.payment_id)).all()
        assert sorted(per_payment) == sorted((i, 1) for i in ids)
        assert s.scalar(select(func.count()).where(
            CaseEvent.kind == "payment.succeeded")) == len(events)
        assert s.scalar(select(func.count()).where(
            OutboxMessage.topic == "payment.succeeded")) == len(events)
        assert s.scalar(select(func.count()).where(
            CapturedMessage.kind == "payment_receipt")) == len(events)
        s.rollback()
        assert verify_all().breaks == []  # each account's chain unforked by the two
        s.execute(text("TRUNCATE procrastinate_jobs CASCADE"))
        s.commit()
