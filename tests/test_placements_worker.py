"""Placement imports through the real job worker, on committed rows: queued by `start`, placed
chunk by chunk, and a worker killed mid-import resumed by the next run with the same result."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from portal.extensions import db as database
from portal.jobs.queue import job_app
from portal.placements import service
from portal.placements.models import PlacementImport
from tests.conftest import own_database_app
from tests.test_placements import STAFF, placement_file, row


@pytest.fixture(scope="module")
def live(server_url, worker):
    """An app on a database of its own with the demo data, for committed rows and the worker."""
    with own_database_app(server_url, f"portal_placements_{worker}") as application:
        yield application


def run_worker(app) -> None:
    job_app(app).run_worker(wait=False, install_signal_handlers=False, listen_notify=False)


def state_of(app, import_id: int) -> PlacementImport:
    with app.app_context():
        imp = database.session.get(PlacementImport, import_id)
        database.session.expunge(imp)
        database.session.rollback()
        return imp


def outcome(app, prefix: str, n: int) -> list:
    with app.app_context():
        found = database.session.execute(text(
            "SELECT a.status, array_agg(l.amount_minor ORDER BY l.id),"
            " (SELECT array_agg(e.kind ORDER BY e.seq) FROM case_event e"
            "  WHERE e.account_id = a.id)"
            " FROM placement_line pl JOIN account a ON a.id = pl.account_id"
            " JOIN ledger_entry l ON l.account_id = a.id"
            " JOIN placement_import i ON i.id = pl.import_id"
            " WHERE i.filename = :name GROUP BY a.id, pl.line ORDER BY pl.line"),
            {"name": prefix}).all()
        database.session.rollback()
        return [tuple(map(str, r)) for r in found]


def start(app, code: str, name: str, n: int) -> int:
    data = placement_file(*[row(i, creditor_account_id=f"{name}-{i}") for i in range(1, n + 1)])
    with app.app_context():
        return service.start(code, data, name, STAFF, chunk_size=2).id


def test_the_worker_places_a_queued_import_and_resumes_one_a_killed_worker_left(
        live, monkeypatch):
    whole = start(live, "BRC", "whole", 5)
    run_worker(live)
    done = state_of(live, whole)
    assert (done.state, done.placed, done.done_rows) == ("done", 5, 5)

    cut = start(live, "NWB", "cut", 5)
    real = service._place_chunk
    calls = []

    def killed_in_the_second_chunk(imp, batch):
        calls.append(len(batch))
        if len(calls) == 2:
            real(imp, batch)  # placed, then the worker dies before the commit
            raise SystemExit("worker killed")
        return real(imp, batch)

    monkeypatch.setattr(service, "_place_chunk", killed_in_the_second_chunk)
    run_worker(live)  # the job fails with the exception; the import is left where it was
    left = state_of(live, cut)
    assert (left.state, left.next_chunk, left.done_rows) == ("importing", 1, 2)

    monkeypatch.setattr(service, "_place_chunk", real)
    jobs = job_app(live)
    with jobs.open():  # the minute's tick
        jobs.configure_task(service.RUN_TASK).defer(timestamp=0)
    run_worker(live)
    resumed = state_of(live, cut)
    assert (resumed.state, resumed.placed, resumed.done_rows) == ("done", 5, 5)
    assert outcome(live, "cut", 5) == outcome(live, "whole", 5)
    with live.app_context():
        assert database.session.scalar(text(
            "SELECT count(*) FROM placement_chunk")) == 0
        assert database.session.scalar(select(PlacementImport.state).where(
            PlacementImport.id == cut)) == "done"


def test_two_workers_place_one_import_side_by_side_with_one_borrower_per_person(
        live, monkeypatch):
    """Two workers place the chunks of one import at once (each is inside its chunk when the
    other starts one: with one worker per import at a time, the barrier would break); a person
    under accounts in two chunks placed at the same moment is still one borrower; the result is
    that of one worker."""
    import threading

    same = {"first_name": "Pat", "last_name": "Quinn"}
    lines = [row(i, creditor_account_id=f"pair-{i}", **(same if i in (1, 3) else {}))
             for i in range(1, 9)]
    with live.app_context():
        pair = service.start("BRC", placement_file(*lines), "pair", STAFF, chunk_size=2).id
    real = service._place_chunk
    together = threading.Barrier(2, timeout=30)
    first_call = threading.local()

    def meet_the_other_worker_first(imp, batch):
        if not getattr(first_call, "done", False):
            first_call.done = True
            together.wait()  # both workers hold a chunk of the import here
        return real(imp, batch)

    monkeypatch.setattr(service, "_place_chunk", meet_the_other_worker_first)
    placed: dict[str, int] = {}
    failures: list[BaseException] = []

    def work(name: str) -> None:
        try:
            with live.app_context():
                count = 0
                while service.run_chunk(pair) is not None:
                    count += 1
                placed[name] = count
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            failures.append(exc)

    workers = [threading.Thread(target=work, args=(n,)) for n in ("a", "b")]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    assert not failures, failures
    assert sum(placed.values()) == 4 and min(placed.values()) >= 1, placed
    done = state_of(live, pair)
    assert (done.state, done.placed, done.done_rows, done.next_chunk) == ("done", 8, 8, 4)
    with live.app_context():
        owners = dict(database.session.execute(text(
            "SELECT pl.line, a.borrower_id FROM placement_line pl"
            " JOIN account a ON a.id = pl.account_id WHERE pl.import_id = :i"), {"i": pair}).all())
        assert database.session.scalar(text(
            "SELECT count(*) FROM placement_chunk WHERE import_id = :i"), {"i": pair}) == 0
        # The tables it grew were analyzed (after its 1st, 2nd and 4th chunks), autovacuum or
        # not: the next chunk's look-ups are planned for their size.
        assert database.session.scalar(text(
            "SELECT analyze_count > 0 FROM pg_stat_user_tables WHERE relname = 'contact_point'"))
        database.session.rollback()
    assert owners[2] == owners[4] and len(set(owners.values())) == 7

    monkeypatch.setattr(service, "_place_chunk", real)
    serial = [{**line, "creditor_account_id": "serial-" + line["creditor_account_id"]}
              for line in lines]
    with live.app_context():
        one = service.start("BRC", placement_file(*serial), "serial", STAFF, chunk_size=2).id
        while service.run_chunk(one) is not None:
            pass
    assert outcome(live, "serial", 8) == outcome(live, "pair", 8)


def test_the_upgrade_deletes_the_chunks_an_old_cursor_had_passed(server_url, worker):
    """An import half placed under the cursor (chunks before `next_chunk` placed, still staged)
    when 0021 comes: those chunks go, so the workers that now take any staged chunk place none
    twice; the rest stay for them."""
    from flask_migrate import upgrade

    from tests.conftest import ROOT, drop_database, fresh_database, make_app

    name = f"portal_chunks_{worker}"
    app = make_app(fresh_database(server_url, name))
    try:
        with app.app_context():
            upgrade(directory=str(ROOT / "migrations"), revision="0020_payment_succeeded")
            database.session.execute(text(
                "INSERT INTO creditor (id, code, name, country) VALUES (1, 'C1', 'C', 'US')"))
            database.session.execute(text(
                "INSERT INTO placement_import (id, creditor_id, filename, sha256, state, "
                "total_rows, done_rows, chunk_size, next_chunk, chunks, placed, adjusted, "
                "unchanged, problems, actor_type) VALUES (7, 1, 'f.csv', 'x', 'importing', 6, 2, "
                "2, 1, 3, 2, 0, 0, '[]', 'system')"))
            database.session.execute(text(
                "INSERT INTO placement_chunk (import_id, seq, rows) "
                "SELECT 7, s, '\\x00' FROM generate_series(0, 2) AS s"))
            database.session.commit()
            upgrade(directory=str(ROOT / "migrations"), revision="0021_placed_chunks")
            left = database.session.scalars(text(
                "SELECT seq FROM placement_chunk WHERE import_id = 7 ORDER BY seq")).all()
            database.session.rollback()
            assert left == [1, 2]
    finally:
        with app.app_context():
            database.engine.dispose()
        drop_database(server_url, name)
