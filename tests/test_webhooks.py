"""Outgoing webhooks: signed, retried with backoff for a day, each try recorded, never sent twice at
once — against a real HTTP receiver, and once through the real procrastinate worker."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import func, select, text

from portal.agency.models import Agency
from portal.jobs.queue import conninfo, defer_in_transaction, job_app, waiting
from portal.outbox import tasks
from portal.outbox.delivery import GIVE_UP_AFTER, backoff, deliver_due, deliver_one, post
from portal.outbox.models import DeliveryAttempt, OutboxMessage, WebhookDelivery, WebhookEndpoint
from portal.outbox.service import publish
from portal.outbox.signing import sign, verify
from portal.outbox.tasks import DELIVER, SWEEP, request_delivery
from tests.conftest import own_database_app

SECRET = "whsec-test-0123456789"
#: The demo's agency, which the demo accounts belong to; endpoints of the tests are its own.
AGENCY = "Demo Collections"
WAIT = 10  # seconds to wait for a condition that should hold within milliseconds


# --- a real receiver ------------------------------------------------------------------------------

class Receiver:
    """An HTTP server on 127.0.0.1 recording every request. Made bound but not listening, so
    until `start()` connections to it are refused: a receiver that is down."""

    def __init__(self, status: int = 200, hold_first_until_overlap: bool = False):
        self.status = status
        self.requests: list[tuple[dict, bytes]] = []
        self.changed = threading.Condition()
        self.in_flight = 0
        self.most_in_flight = 0
        self.overlap = threading.Event()
        self.hold_first = hold_first_until_overlap
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.changed:
                    receiver.requests.append((dict(self.headers.items()), body))
                    first = len(receiver.requests) == 1
                    receiver.in_flight += 1
                    receiver.most_in_flight = max(receiver.most_in_flight, receiver.in_flight)
                    if receiver.in_flight >= 2:
                        receiver.overlap.set()
                    receiver.changed.notify_all()
                if receiver.hold_first and first:
                    # Keep the first delivery in flight until a second one arrives, which only a
                    # second worker that skips the locked row can send.
                    receiver.overlap.wait(WAIT)
                with receiver.changed:
                    receiver.in_flight -= 1  # before answering: the sender may go on from here
                self.send_response(receiver.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"no")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler, bind_and_activate=False)
        self.server.daemon_threads = True
        self.server.server_bind()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        self.thread = None

    def start(self) -> None:
        self.server.server_activate()
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        if self.thread:
            self.server.shutdown()
            self.thread.join(WAIT)
        self.server.server_close()

    def wait_for(self, count: int) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: len(self.requests) >= count, WAIT)

    def ids(self) -> list[str]:
        return [json.loads(body)["id"] for _, body in self.requests]


@pytest.fixture
def receivers():
    made = []

    def make(status=200, *, up=True, **options):
        receiver = Receiver(status, **options)
        made.append(receiver)
        if up:
            receiver.start()
        return receiver

    yield make
    for receiver in made:
        receiver.close()


def agency_id(name: str = AGENCY) -> int:
    """The agency's id (the demo's in the demo database; made in a bare one)."""
    from portal.extensions import db as database

    found = database.session.scalar(select(Agency.id).where(Agency.name == name))
    if found is None:
        agency = Agency(name=name)
        database.session.add(agency)
        database.session.flush()
        found = agency.id
    return found


def agency_publish(topic: str, payload: dict, agency: str = AGENCY):
    """A message of the agency's that names no account."""
    return publish(topic, payload, agency_id=agency_id(agency))


def add_endpoint(url, topics=("payment.succeeded", "dispute.opened"), active=True,
                 secret=SECRET, agency: str = AGENCY) -> int:
    from portal.extensions import db as database

    endpoint = WebhookEndpoint(agency_id=agency_id(agency), url=url, secret=secret,
                               topics=list(topics), active=active)
    database.session.add(endpoint)
    database.session.flush()
    return endpoint.id


def deliveries(db, message_ids) -> list[WebhookDelivery]:
    return db.scalars(select(WebhookDelivery).where(WebhookDelivery.message_id.in_(message_ids))
                      .order_by(WebhookDelivery.id))


def attempts(db, delivery_id) -> list[DeliveryAttempt]:
    return db.scalars(select(DeliveryAttempt).where(DeliveryAttempt.delivery_id == delivery_id)
                      .order_by(DeliveryAttempt.at, DeliveryAttempt.id))


# --- signatures -----------------------------------------------------------------------------------

BODY = b'{"id":"1","type":"payment.succeeded"}'
T = 1_500_000_000
GOOD = f"t={T},v1=" + hmac.new(SECRET.encode(), f"{T}.".encode() + BODY, hashlib.sha256).hexdigest()


def test_sign_is_the_contracts_hmac_of_timestamp_dot_body():
    assert sign(SECRET, T, BODY) == GOOD


@pytest.mark.parametrize(
    ("header", "secret", "body", "now", "tolerance", "valid"),
    [
        (GOOD, SECRET, BODY, T, 300, True),
        (GOOD, SECRET, BODY, T + 300, 300, True),  # at the edge of the tolerance
        (GOOD, SECRET, BODY, T - 300, 300, True),  # a sender's clock a little ahead
        (GOOD, SECRET, BODY, T + 301, 300, False),  # replayed too late
        (GOOD, SECRET, BODY, T - 301, 300, False),
        (GOOD, "another-secret", BODY, T, 300, False),
        (GOOD, SECRET, BODY + b" ", T, 300, False),  # body changed
        (GOOD.replace(f"t={T}", f"t={T + 1}"), SECRET, BODY, T, 300, False),  # timestamp changed
        (f"t={T},v1={'0' * 64}," + GOOD.split(",")[1], SECRET, BODY, T, 300, True),  # rotation
        (GOOD + ",v2=whatever", SECRET, BODY, T, 300, True),  # unknown schemes ignored
        (GOOD.split(",")[1], SECRET, BODY, T, 300, False),  # no timestamp
        (f"t={T}", SECRET, BODY, T, 300, False),  # no signature
        (f"t={T},t={T}," + GOOD.split(",")[1], SECRET, BODY, T, 300, False),  # two timestamps
        (GOOD.replace(f"t={T}", "t=soon"), SECRET, BODY, T, 300, False),
        (GOOD.replace(f"t={T}", "t=-5"), SECRET, BODY, T, 300, False),
        (GOOD + ",garbage", SECRET, BODY, T, 300, False),
        (GOOD[:-1] + "é", SECRET, BODY, T, 300, False),  # non-ASCII is just wrong, not a crash
        ("", SECRET, BODY, T, 300, False),
        ("v1=abc,t=1", SECRET, BODY, T, 300, False),
    ],
)
def test_verify(header, secret, body, now, tolerance, valid):
    assert verify(header, secret, body, tolerance, now=now) is valid


def test_verify_uses_the_clock_by_default():
    assert not verify(GOOD, SECRET, BODY)  # 2017 is long gone
    import time

    now = int(time.time())
    assert verify(sign(SECRET, now, BODY), SECRET, BODY)


# --- pure pieces ----------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("attempts", "shortest", "longest"),
    [
        (1, 15, 30), (2, 30, 60), (3, 60, 120), (4, 120, 240), (7, 960, 1920),
        (8, 1800, 3600), (9, 1800, 3600), (50, 1800, 3600), (10_000, 1800, 3600),
    ],
)
def test_backoff_doubles_from_30_seconds_with_jitter_and_waits_at_most_an_hour(
        attempts, shortest, longest):
    assert backoff(attempts, 0.0) == timedelta(seconds=shortest)
    assert timedelta(seconds=shortest) < backoff(attempts, 0.999999) < timedelta(seconds=longest)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql+psycopg://postgres:@/portal?host=/srv/app/instance/run",
         "host=/srv/app/instance/run user=postgres dbname=portal"),
        ("postgresql://postgres:@/portal?host=/tmp/with space",
         "host='/tmp/with space' user=postgres dbname=portal"),
        ("postgresql+psycopg://app:p%40ss%20word@db.internal:5433/portal?sslmode=require",
         "host=db.internal port=5433 user=app password='p@ss word' dbname=portal sslmode=require"),
        ("postgres://postgres@127.0.0.1:5432/portal_ci",
         "host=127.0.0.1 port=5432 user=postgres dbname=portal_ci"),
    ],
)
def test_conninfo_turns_sqlalchemy_and_socket_urls_into_libpq_strings(url, expected):
    assert conninfo(url) == expected


def test_conninfo_refuses_other_databases():
    with pytest.raises(ValueError):
        conninfo("sqlite:///portal.db")


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.test/x", "gopher://x"])
def test_only_http_endpoints_are_posted_to(url):
    status, error = post(url, b"{}", {})
    assert status is None and error.startswith("refused")


def test_redirects_are_recorded_not_followed(receivers):
    receiver = receivers(307)
    status, error = post(receiver.url, b"{}", {}, timeout=5)
    assert status == 307 and error.startswith("HTTP 307")
    assert len(receiver.requests) == 1


# --- delivery, inside the test's rolled-back transaction ------------------------------------------

def test_each_message_reaches_each_subscribed_endpoint_once_signed_with_its_id(db, receivers):
    receiver, other, idle = receivers(), receivers(), receivers()

    def setup():
        add_endpoint(receiver.url)
        add_endpoint(other.url, topics=["dispute.opened"], secret="other-secret")
        add_endpoint(idle.url, active=False)
        return [
            publish("payment.succeeded", {"amount_minor": 1250, "currency": "USD"},
                    account_ref="NWB-1001"),
            publish("dispute.opened", {"reason": "not mine"}, account_ref="NWB-1001"),
            agency_publish("plan.accepted", {"plan": 7}),  # nobody subscribed
        ]

    messages = db.run(setup)
    outcomes = db.run(lambda: deliver_due(timeout=5))
    assert sorted(o.status for o in outcomes) == ["delivered"] * 3

    assert sorted(receiver.ids()) == sorted(str(m.id) for m in messages[:2])
    assert other.ids() == [str(messages[1].id)]
    assert idle.requests == []
    for (headers, body), message in zip(receiver.requests, messages[:2], strict=True):
        assert headers["Content-Type"] == "application/json"
        assert verify(headers["Portal-Signature"], SECRET, body)
        assert not verify(headers["Portal-Signature"], "other-secret", body)
        document = json.loads(body)
        assert document == {
            "id": str(message.id),
            "type": message.topic,
            "created_at": message.created_at.isoformat().replace("+00:00", "Z"),
            "data": message.payload,
        }
    headers, body = other.requests[0]
    assert verify(headers["Portal-Signature"], "other-secret", body)

    for delivery in deliveries(db, [m.id for m in messages]):
        assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == (
            "delivered", 1, None)
        assert delivery.delivered_at is not None
        [attempt] = attempts(db, delivery.id)
        assert (attempt.status_code, attempt.error) == (200, None)

    # Nothing is due any more: nobody hears anything twice.
    assert db.run(lambda: deliver_due(timeout=5)) == []
    assert len(receiver.requests) == 2 and len(other.requests) == 1


def test_a_failing_receiver_is_retried_later_and_later_each_try_recorded(db, receivers):
    receiver = receivers(500)
    message = db.run(lambda: (add_endpoint(receiver.url),
                              agency_publish("payment.succeeded", {"amount_minor": 1}))[1])
    clock = datetime.now(UTC)
    waits = []
    for _ in range(5):
        outcome = db.run(lambda at=clock: deliver_one(now=at, timeout=5))
        assert (outcome.status, outcome.status_code) == ("pending", 500)
        waits.append(outcome.next_attempt_at - clock)
        # Not a moment before it is due.
        before = outcome.next_attempt_at - timedelta(seconds=1)
        assert db.run(lambda at=before: deliver_one(now=at, timeout=5)) is None
        clock = outcome.next_attempt_at

    assert waits == sorted(waits) and len(set(waits)) == 5
    assert timedelta(seconds=15) <= waits[0] < timedelta(seconds=30)
    assert timedelta(seconds=240) <= waits[4] < timedelta(seconds=480)

    [delivery] = deliveries(db, [message.id])
    assert (delivery.status, delivery.attempts) == ("pending", 5)
    tries = attempts(db, delivery.id)
    assert [(a.status_code, a.error) for a in tries] == [(500, "HTTP 500: no")] * 5
    # The same message each time, freshly signed.
    assert receiver.ids() == [str(message.id)] * 5
    assert len({body for _, body in receiver.requests}) == 1


def test_a_receiver_down_for_an_hour_then_back_gets_everything_once(db, receivers):
    receiver = receivers(up=False)  # connections refused

    def setup():
        add_endpoint(receiver.url)
        return [agency_publish("payment.succeeded", {"n": n}) for n in range(3)]

    messages = db.run(setup)
    ids = [m.id for m in messages]
    start = clock = datetime.now(UTC)

    def next_due():
        return db.scalar(select(func.min(WebhookDelivery.next_attempt_at))
                         .where(WebhookDelivery.message_id.in_(ids),
                                WebhookDelivery.status == "pending"))

    failed_tries = 0
    while clock < start + timedelta(hours=1):
        outcomes = db.run(lambda at=clock: deliver_due(now=at, timeout=5))
        assert outcomes and all(o.status == "pending" and o.status_code is None for o in outcomes)
        failed_tries += len(outcomes)
        clock = next_due()  # the hour passes without anybody sleeping
    assert failed_tries >= 3 * 6

    receiver.start()
    while (clock := next_due()) is not None:
        outcomes = db.run(lambda at=clock: deliver_due(now=at, timeout=5))
        assert outcomes and all(o.status == "delivered" for o in outcomes)

    assert sorted(receiver.ids()) == sorted(str(i) for i in ids)
    for delivery in deliveries(db, ids):
        tries = attempts(db, delivery.id)
        assert delivery.status == "delivered" and delivery.attempts == len(tries) >= 7
        assert all(t.status_code is None and "refused" in t.error.lower() for t in tries[:-1])
        assert tries[-1].status_code == 200
        gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(tries)]
        assert max(gaps) <= timedelta(hours=1)


def test_a_delivery_still_failing_a_day_after_its_first_try_is_given_up(db, receivers):
    receiver = receivers(503)
    message = db.run(lambda: (add_endpoint(receiver.url),
                              agency_publish("payment.succeeded", {"amount_minor": 1}))[1])
    first = datetime.now(UTC)
    assert db.run(lambda: deliver_one(now=first, timeout=5)).status == "pending"
    # A try just inside the day still leads to another one...
    almost = first + GIVE_UP_AFTER - timedelta(seconds=1)
    retry = db.run(lambda: deliver_one(now=almost, timeout=5))
    assert retry.status == "pending" and retry.next_attempt_at > first + GIVE_UP_AFTER
    # ...and when that one, a day and a bit after the first, fails too, that is the end.
    late = retry.next_attempt_at
    outcome = db.run(lambda: deliver_one(now=late, timeout=5))
    assert (outcome.status, outcome.status_code, outcome.next_attempt_at) == ("failed", 503, None)

    # Given up means never tried again.
    assert db.run(lambda: deliver_one(now=late + timedelta(days=30), timeout=5)) is None
    [delivery] = deliveries(db, [message.id])
    assert (delivery.status, delivery.attempts, delivery.delivered_at) == ("failed", 3, None)
    assert len(attempts(db, delivery.id)) == 3 == len(receiver.requests)


# --- real connections and commits: a database of this module's own -------------------------------

@pytest.fixture(scope="module")
def live_app(server_url, worker):
    """An app on a fresh database, for tests that need committed rows and second connections."""
    with own_database_app(server_url, f"portal_hooks_{worker}", seed=False) as application:
        yield application


@pytest.fixture
def live(live_app):
    from portal.extensions import db as database

    yield live_app
    with live_app.app_context():
        database.session.execute(text(
            "TRUNCATE webhook_delivery_attempt, webhook_delivery, outbox_message, webhook_endpoint,"
            " procrastinate_events, procrastinate_periodic_defers, procrastinate_jobs,"
            " procrastinate_workers CASCADE"))
        database.session.commit()


def committed(app, fn):
    from portal.extensions import db as database

    with app.app_context():
        result = fn()
        database.session.commit()
        return result


def test_two_workers_claiming_at_once_never_send_the_same_delivery(live, receivers):
    receiver = receivers(hold_first_until_overlap=True)
    ids = committed(live, lambda: (add_endpoint(receiver.url),
                                   [agency_publish("payment.succeeded", {"n": n}).id
                                    for n in range(20)])[1])
    start = threading.Barrier(2)
    results, errors = {}, []

    def work(name):
        try:
            with live.app_context():
                start.wait(WAIT)
                # Patient enough to outwait the receiver's hold, which ends only the test.
                results[name] = deliver_due(timeout=WAIT + 5)
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=work, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT * 3)
    assert not errors and not any(t.is_alive() for t in threads)

    # Both sent at the same moment (the second skipped the row the first held)...
    assert receiver.most_in_flight == 2 and results["a"] and results["b"]
    assert all(o.status == "delivered" for o in results["a"] + results["b"])
    # ...and between them every message went out exactly once.
    assert sorted(receiver.ids()) == sorted(str(i) for i in ids)
    sent = [o.message_id for o in results["a"] + results["b"]]
    assert sorted(sent) == sorted(ids)
    with live.app_context():
        from portal.extensions import db as database

        assert database.session.scalar(select(func.count()).select_from(DeliveryAttempt)) == 20


def test_the_worker_command_delivers_jobs_deferred_with_the_messages(live, receivers):
    from portal.extensions import db as database

    receiver = receivers()

    def jobs_named(name):
        with live.app_context():
            return database.session.scalars(
                text("SELECT status::text FROM procrastinate_jobs WHERE task_name = :name"),
                {"name": name}).all()

    # A job deferred in a transaction that rolls back never existed.
    with live.app_context():
        add_endpoint(receiver.url)
        agency_publish("payment.succeeded", {"n": -1})
        database.session.rollback()
    assert jobs_named(DELIVER) == []

    def publish_and_request():
        # `publish` asks for one delivery job per transaction, however many messages it writes.
        add_endpoint(receiver.url)
        return [agency_publish("payment.succeeded", {"n": n}).id for n in range(2)]

    ids = committed(live, publish_and_request)
    assert jobs_named(DELIVER) == ["todo"]

    # `flask --app portal worker --once`: the real procrastinate worker, until the queue is empty.
    result = live.test_cli_runner().invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output + repr(result.exception)

    assert receiver.wait_for(2)
    assert sorted(receiver.ids()) == sorted(str(i) for i in ids)
    for headers, body in receiver.requests:
        assert verify(headers["Portal-Signature"], SECRET, body)
    assert jobs_named(DELIVER) == []  # succeeded jobs are deleted
    with live.app_context():
        statuses = database.session.scalars(select(WebhookDelivery.status)).all()
    assert statuses == ["delivered", "delivered"]


def test_the_periodic_sweep_delivers_what_is_due(live, receivers):
    receiver = receivers()
    ids = committed(live, lambda: (add_endpoint(receiver.url),
                                   [agency_publish("dispute.opened", {"n": n}).id
                                    for n in range(3)])[1])
    jobs = job_app(live)
    assert (SWEEP, "outbox") in jobs.periodic_registry.periodic_tasks
    with jobs.open():
        jobs.configure_task(SWEEP).defer(timestamp=0)
    jobs.run_worker(wait=False, install_signal_handlers=False, listen_notify=False)

    assert receiver.wait_for(3)
    assert sorted(receiver.ids()) == sorted(str(i) for i in ids)


def test_a_backlog_is_shared_out_in_batches_until_it_is_gone(live, receivers, monkeypatch):
    monkeypatch.setattr(tasks, "BATCH", 2)
    receiver = receivers()

    def publish_and_request():
        add_endpoint(receiver.url)
        messages = [agency_publish("payment.succeeded", {"n": n}).id for n in range(5)]
        request_delivery()
        return messages

    ids = committed(live, publish_and_request)
    # One job takes two; seeing more due, it queues another for whichever worker is free.
    result = live.test_cli_runner().invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert receiver.wait_for(5)
    assert sorted(receiver.ids()) == sorted(str(i) for i in ids)


def test_a_locked_job_deferred_meanwhile_refuses_ours_and_our_transaction_goes_on(live):
    """Two transactions queue the same locked job at once: the second sees none waiting (the first
    has not committed), its insert waits for the first to commit and is refused, in a savepoint,
    so what the second wrote still commits; one job waits."""
    from portal.extensions import db as database

    lock = "test.one-waiting"
    second: dict = {}

    def later_transaction():
        try:
            with live.app_context():
                second["job"] = defer_in_transaction(DELIVER, queueing_lock=lock)
                second["message"] = agency_publish("payment.succeeded", {"n": 1}).id
                database.session.commit()
        except BaseException as error:  # reported below, in the test's thread
            second["error"] = error

    with live.app_context():
        first = defer_in_transaction(DELIVER, queueing_lock=lock)
        assert first is not None and waiting(lock)  # this transaction sees its own
        thread = threading.Thread(target=later_transaction)
        thread.start()
        with live.app_context():  # a third connection watches the second one wait for the first
            blocked = 0
            for _ in range(WAIT * 20):
                blocked = database.session.scalar(text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND wait_event_type = 'Lock'"))
                database.session.rollback()
                if blocked or not thread.is_alive():
                    break
                time.sleep(0.05)
        assert blocked == 1, second
        database.session.commit()
    thread.join(WAIT)
    assert not thread.is_alive() and "error" not in second, second
    assert second["job"] is None

    with live.app_context():
        assert database.session.scalars(text(
            "SELECT id FROM procrastinate_jobs WHERE queueing_lock = :lock AND status = 'todo'"),
            {"lock": lock}).all() == [first]
        assert database.session.get(OutboxMessage, second["message"]) is not None


def test_endpoints_are_managed_from_the_command_line(app, db):
    from portal.outbox.models import WebhookEndpoint
    from portal.outbox.signing import sign, verify

    runner = app.test_cli_runner()
    added = runner.invoke(args=["webhooks", "add", "https://dialer.example/hooks",
                                "--agency", AGENCY, "--topic", "contact.hold.started",
                                "--topic", "contact.hold.ended"])
    assert added.exit_code == 0, added.output
    secret = added.output.split("(shown once): ")[1].strip()
    endpoint = db.scalar(select(WebhookEndpoint))
    assert endpoint.topics == ["contact.hold.started", "contact.hold.ended"]
    # The secret is what signs the webhooks (and it is stored encrypted, not as typed).
    header = sign(secret, 1_700_000_000, b"{}")
    assert verify(header, endpoint.secret, b"{}", now=1_700_000_000)

    assert endpoint.agency_id == db.run(agency_id)
    assert runner.invoke(args=["webhooks", "add", "ftp://x", "--agency", AGENCY]).exit_code != 0
    # An endpoint belongs to an agency: none named, or one that does not exist, adds nothing.
    unnamed = runner.invoke(args=["webhooks", "add", "https://other.example/hooks"])
    assert unnamed.exit_code != 0 and "--agency" in unnamed.output
    unknown = runner.invoke(args=["webhooks", "add", "https://other.example/hooks",
                                  "--agency", "Nobody Collections"])
    assert unknown.exit_code != 0 and "no agency named 'Nobody Collections'" in unknown.output
    assert db.scalars(select(WebhookEndpoint.url)) == ["https://dialer.example/hooks"]
    assert f"{AGENCY}\thttps://dialer.example/hooks" in runner.invoke(
        args=["webhooks", "list"]).output
    assert runner.invoke(args=["webhooks", "disable", str(endpoint.id)]).exit_code == 0
    assert db.scalar(select(WebhookEndpoint)).active is False
    assert runner.invoke(args=["webhooks", "disable", "999999"]).exit_code != 0


# --- tenancy: an agency's endpoints hear of its own accounts only --------------------------------

def test_an_event_on_one_agencys_account_reaches_that_agencys_endpoints_only(live, receivers):
    """Two agencies on one deployment, each with an endpoint for every topic: a borrower's report
    on agency A's accounts reaches A's endpoint, through the real worker, and never B's."""
    from portal.accounts.models import Borrower
    from portal.cases.service import Actor
    from portal.contact.operations import report_bankruptcy
    from portal.demo.cli import seed
    from portal.extensions import db as database
    from portal.outbox.models import TOPICS

    ours, theirs = receivers(), receivers()
    with live.app_context():
        seed()  # both demo agencies, their creditors and accounts (idempotent)
    committed(live, lambda: (add_endpoint(ours.url, topics=TOPICS),
                             add_endpoint(theirs.url, topics=TOPICS, secret="harbor-secret",
                                          agency="Harbor Recovery")))
    with live.app_context():
        alex = database.session.scalar(select(Borrower.id).where(
            Borrower.reference == "DEMO-1001"))
        report_bankruptcy(alex, "24-10001", Actor("borrower", str(alex), "127.0.0.1"))
        sent = database.session.execute(select(OutboxMessage.id, OutboxMessage.account_ref)
                                        ).all()
    assert {ref for _id, ref in sent} == {"NWB-1001", "LUM-1001"}

    result = live.test_cli_runner().invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output + repr(result.exception)

    assert ours.wait_for(len(sent))
    assert sorted(ours.ids()) == sorted(str(i) for i, _ref in sent)
    for headers, body in ours.requests:
        assert verify(headers["Portal-Signature"], SECRET, body)
        assert json.loads(body)["data"]["account_ref"] in ("NWB-1001", "LUM-1001")
    assert theirs.requests == []
    with live.app_context():
        # Not sent, and not owed either: the other agency's endpoint has no delivery at all.
        owed = database.session.scalars(select(WebhookDelivery.endpoint_id).distinct()).all()
        mine = database.session.scalar(select(WebhookEndpoint.id).where(
            WebhookEndpoint.url == ours.url))
    assert owed == [mine]


def test_a_message_names_its_account_or_its_agency(db):
    with pytest.raises(ValueError, match="names its account or its agency"):
        db.run(lambda: publish("payment.succeeded", {"n": 1}))
