"""Tamper evidence against a database writer (issue 12): the case chain is keyed with HMAC over
every column, its heads are exported signed outside the database, and the app's role cannot
rewrite the record. Each attack is done with raw SQL, as someone who can write to the database
but does not hold CASE_CHAIN_KEYS, and `flask --app portal cases verify` must name it."""

from __future__ import annotations

import base64
import hashlib
import json
import stat
import uuid
from types import SimpleNamespace

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from portal.cases import chain
from portal.cases.kinds import EventKind
from portal.cases.service import Actor, record

OTHER_KEY = "2:" + base64.b64encode(b"rotated-chain-key-0123456789abcd").decode()


def verify(app):
    return app.test_cli_runner().invoke(args=["cases", "verify"])


def export(app):
    return app.test_cli_runner().invoke(args=["cases", "export-heads"])


@pytest.fixture
def exports(app, monkeypatch, tmp_path):
    """This test's own export directory."""
    folder = tmp_path / "chain-heads"
    monkeypatch.setitem(app.config, "CHAIN_EXPORT_DIR", str(folder))
    return folder


def as_writer(db, sql: str, params: dict | None = None):
    """What a database writer can do: the append-only trigger off, the statement, back on."""
    db.execute(text("ALTER TABLE case_event DISABLE TRIGGER case_event_append_only"))
    db.execute(text(sql), params or {})
    db.execute(text("ALTER TABLE case_event ENABLE TRIGGER case_event_append_only"))


def old_formula(row, prev_hash: str) -> str:
    """The plain SHA-256 of the chain before issue 12: anyone who reads the code can compute it."""
    body = json.dumps({
        "stream": row.stream, "seq": row.seq, "kind": row.kind, "actor_type": row.actor_type,
        "actor_id": row.actor_id, "occurred_at": row.occurred_at.isoformat(),
        "source": row.source, "data": row.data, "prev_hash": prev_hash,
    }, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return hashlib.sha256(body).hexdigest()


def ledger_stream(db) -> tuple[str, int]:
    """An account's stream and the seq of its first ledger event (the demo data's)."""
    return db.execute(text(
        "SELECT stream, seq FROM case_event WHERE kind = 'ledger.posted' ORDER BY id LIMIT 1"
    )).one()


def events_of(db, stream: str) -> list[SimpleNamespace]:
    rows = db.execute(text("SELECT * FROM case_event WHERE stream = :s ORDER BY seq"),
                      {"s": stream}).all()
    return [SimpleNamespace(**row._mapping) for row in rows]


def stream_count(db) -> int:
    """How many chains the demo data has (one per borrower and per account that has events)."""
    return db.execute(text("SELECT count(*) FROM case_stream")).scalar_one()


def assert_broken(result, stream: str, seq: int, problem: str = ""):
    assert result.exit_code == 1, result.output
    assert f"BROKEN {stream} at event {seq}: {problem}" in result.output


def test_a_clean_chain_verifies_and_events_after_the_export_are_not_a_failure(
        app, db, demo, person, exports):
    assert export(app).exit_code == 0

    result = verify(app)
    assert result.exit_code == 0, result.output
    assert "0 event(s) not yet exported" in result.output
    chains = stream_count(db)
    assert f"checked {chains} chains, 0 broken" in result.output

    person.sign_in("DEMO-1001", "1985-04-12")
    person.sign_out()
    result = verify(app)
    assert result.exit_code == 0, result.output
    assert "3 event(s) not yet exported" in result.output  # code sent, signed in, signed out
    assert f"checked {chains + 1} chains, 0 broken" in result.output  # the borrower's too


@pytest.mark.parametrize("columns", ["account_id", "borrower_id", "account_id, borrower_id"])
def test_i_an_event_moved_to_another_account_or_borrower_is_found(app, db, demo, columns):
    stream, seq = ledger_stream(db)
    other = db.execute(text(
        "SELECT a.id, a.borrower_id FROM account a WHERE 'account:' || a.id <> :s "
        "AND a.borrower_id <> (SELECT borrower_id FROM case_event WHERE stream = :s LIMIT 1) "
        "LIMIT 1"), {"s": stream}).one()
    values = {"account_id": other.id, "borrower_id": other.borrower_id}
    sets = ", ".join(f"{c} = :{c}" for c in columns.split(", "))
    as_writer(db, f"UPDATE case_event SET {sets} WHERE stream = :s AND seq = :n",
              {**values, "s": stream, "n": seq})

    assert_broken(verify(app), stream, seq, "content changed after it was recorded")


def test_ii_an_amount_changed_with_the_chain_and_head_recomputed_is_found(app, db, demo):
    stream, seq = ledger_stream(db)
    events = events_of(db, stream)
    prev = events[seq - 2].hash if seq > 1 else "0" * 64
    db.execute(text("ALTER TABLE case_event DISABLE TRIGGER case_event_append_only"))
    for row in events[seq - 1:]:
        data = dict(row.data)
        if row.seq == seq:
            data["amount_minor"] = 1
        row = SimpleNamespace(**{**vars(row), "data": data})
        new = old_formula(row, prev)
        db.execute(text("UPDATE case_event SET data = CAST(:d AS jsonb), prev_hash = :p, "
                        "hash = :h WHERE id = :id"),
                   {"d": json.dumps(data), "p": prev, "h": new, "id": row.id})
        prev = new
    db.execute(text("ALTER TABLE case_event ENABLE TRIGGER case_event_append_only"))
    db.execute(text("UPDATE case_stream SET last_hash = :h WHERE stream = :s"),
               {"h": prev, "s": stream})

    assert_broken(verify(app), stream, seq, "content changed after it was recorded")


@pytest.mark.parametrize("key_id", [None, 1])
def test_iii_an_appended_forged_event_is_found(app, db, demo, key_id):
    stream, _ = ledger_stream(db)
    last = events_of(db, stream)[-1]
    forged = SimpleNamespace(**{**vars(last), "seq": last.seq + 1, "kind": "ledger.posted",
                                "data": {"amount_minor": -50000, "currency": "USD"}})
    columns = "stream, seq, borrower_id, account_id, kind, actor_type, actor_id, occurred_at, " \
              "source, data, prev_hash, hash" + (", key_id" if key_id else "")
    values = ":stream, :seq, :borrower_id, :account_id, :kind, :actor_type, :actor_id, " \
             ":occurred_at, :source, CAST(:data AS jsonb), :prev_hash, :hash" + \
             (", :key_id" if key_id else "")
    new = old_formula(forged, last.hash)
    db.execute(text(f"INSERT INTO case_event ({columns}) VALUES ({values})"), {
        **vars(forged), "data": json.dumps(forged.data), "prev_hash": last.hash,
        "hash": new, "key_id": key_id})
    db.execute(text("UPDATE case_stream SET last_seq = :n, last_hash = :h WHERE stream = :s"),
               {"n": forged.seq, "h": new, "s": stream})

    assert_broken(verify(app), stream, forged.seq)


def test_newest_events_deleted_with_the_head_rewound_are_found_against_the_export(
        app, db, demo, exports):
    stream, _ = ledger_stream(db)
    assert export(app).exit_code == 0
    events = events_of(db, stream)
    last, before = events[-1], events[-2]
    as_writer(db, "DELETE FROM case_event WHERE id = :id", {"id": last.id})
    db.execute(text("UPDATE case_stream SET last_seq = :n, last_hash = :h WHERE stream = :s"),
               {"n": before.seq, "h": before.hash, "s": stream})

    assert_broken(verify(app), stream, last.seq,
                  f"events deleted: the record ends at event {before.seq}")


def test_a_deleted_event_replaced_by_a_new_one_is_found_as_rewritten(app, db, demo, exports):
    stream, _ = ledger_stream(db)
    assert export(app).exit_code == 0
    events = events_of(db, stream)
    last, before = events[-1], events[-2]
    as_writer(db, "DELETE FROM case_event WHERE id = :id", {"id": last.id})
    db.execute(text("UPDATE case_stream SET last_seq = :n, last_hash = :h WHERE stream = :s"),
               {"n": before.seq, "h": before.hash, "s": stream})
    # The app, with its key, records a genuine event at the deleted one's place.
    db.run(record, Actor.system("test"), EventKind.ACCOUNT_CLOSED, borrower_id=last.borrower_id,
           account_id=last.account_id)

    assert_broken(verify(app), stream, last.seq, "rewritten since the export")


def test_a_tampered_export_is_found_and_an_older_one_is_used(app, db, demo, exports):
    assert export(app).exit_code == 0
    assert export(app).exit_code == 0
    older, newer = sorted(exports.iterdir())
    assert stat.S_IMODE(newer.stat().st_mode) == 0o444  # never rewritten in place
    doc = json.loads(newer.read_text())
    stream = next(iter(doc["streams"]))
    doc["streams"][stream][0] += 5
    newer.chmod(0o644)
    newer.write_text(json.dumps(doc))

    result = verify(app)

    assert result.exit_code == 1
    assert f"BROKEN export {newer.name}: its signature does not match" in result.output
    assert f"compared with export {older.name}" in result.output


def test_each_export_is_a_new_file(app, db, demo, exports):
    first = export(app)
    second = export(app)
    assert first.exit_code == second.exit_code == 0
    files = sorted(exports.iterdir())
    assert len(files) == 2 and all(f.name.startswith("heads-") for f in files)
    assert f"exported {stream_count(db)} stream heads" in first.output


def test_the_periodic_job_writes_an_export(app, db, demo, exports):
    from portal.jobs.queue import job_app

    count = job_app(app).tasks["cases.export_heads"](timestamp=0)

    assert count == stream_count(db) > 0
    assert len(list(exports.iterdir())) == 1


def test_a_rotation_keeps_old_events_verifiable_and_new_ones_use_the_new_key(
        app, db, demo, person, exports, monkeypatch):
    old = app.extensions[chain.EXTENSION]
    person.sign_in("DEMO-1001", "1985-04-12")
    assert export(app).exit_code == 0
    old_spec = app.config["CASE_CHAIN_KEYS"]
    rotated = chain.ChainKeys(f"{OTHER_KEY},{old_spec}")
    monkeypatch.setitem(app.extensions, chain.EXTENSION, rotated)
    person.sign_out()

    key_ids = [k for (k,) in db.execute(text(
        "SELECT key_id FROM case_event WHERE stream LIKE 'borrower:%' ORDER BY seq")).all()]
    assert key_ids[0] == old.current and key_ids[-1] == 2
    result = verify(app)
    assert result.exit_code == 0, result.output  # the export signed with key 1 verifies too
    assert "1 event(s) not yet exported" in result.output

    # With the old key dropped, its events are reported, not passed.
    monkeypatch.setitem(app.extensions, chain.EXTENSION, chain.ChainKeys(OTHER_KEY))
    result = verify(app)
    assert result.exit_code == 1
    assert "signed with chain key 1, which is not configured" in result.output


def test_the_app_role_cannot_rewrite_the_record_nor_disable_its_trigger(app, db, demo):
    role = f"portal_app_test_{uuid.uuid4().hex[:12]}"
    result = app.test_cli_runner().invoke(args=["cases", "role-sql", "--role", role])
    assert result.exit_code == 0, result.output
    statements = [line for line in result.output.splitlines()
                  if line and not line.startswith("--")]
    connection = db.connection
    connection.execute(text(f"CREATE ROLE {role} NOLOGIN"))  # rolled back with the test
    for statement in statements:
        connection.execute(text(statement))
    connection.execute(text(f"SET LOCAL ROLE {role}"))

    for statement in ("UPDATE case_event SET kind = kind",
                      "DELETE FROM case_event",
                      "TRUNCATE case_event CASCADE",
                      "UPDATE ledger_entry SET amount_minor = 0",
                      "ALTER TABLE case_event DISABLE TRIGGER case_event_append_only",
                      "ALTER TABLE case_event DISABLE TRIGGER ALL",
                      "DROP TRIGGER case_event_append_only ON case_event"):
        with pytest.raises(DBAPIError, match="permission denied|must be owner"):
            with connection.begin_nested():
                connection.execute(text(statement))

    # ...while the app's own work goes on as that role: an event recorded, its head moved.
    stream, _ = ledger_stream(db)
    account = int(stream.split(":")[1])
    borrower = connection.execute(text("SELECT borrower_id FROM account WHERE id = :a"),
                                  {"a": account}).scalar()
    event = db.run(record, Actor.system("test"), EventKind.ACCOUNT_CLOSED, borrower_id=borrower,
                   account_id=account)
    assert connection.execute(text("SELECT current_user")).scalar() == role
    assert event.key_id == app.extensions[chain.EXTENSION].current


def test_role_sql_refuses_a_role_name_that_is_not_a_plain_identifier(app):
    result = app.test_cli_runner().invoke(args=["cases", "role-sql", "--role", "x; DROP TABLE y"])
    assert result.exit_code == 2
    assert "plain lower-case identifier" in result.output


def test_the_migration_rekeys_intact_streams_and_leaves_a_broken_one_to_be_reported(
        server_url, worker, tmp_path):
    """0013 on a database written under the plain SHA-256 chain (0012, as the downgrade leaves
    it): the intact streams verify under the key, a stream already tampered with is reported."""
    from flask_migrate import downgrade, upgrade

    from portal.extensions import db as database
    from tests.conftest import ROOT, drop_database, fresh_database, make_app
    from tests.fixtures.factories import seed_demo

    name = f"portal_chain_{worker}"
    application = make_app(fresh_database(server_url, name))
    application.config["CHAIN_EXPORT_DIR"] = str(tmp_path)
    migrations = str(ROOT / "migrations")
    try:
        with application.app_context():
            upgrade(directory=migrations)
        seed_demo(application)
        with application.app_context():
            downgrade(directory=migrations, revision="0012")
            streams = database.session.execute(text(
                "SELECT stream FROM case_stream ORDER BY stream")).scalars().all()
            for stream in streams:
                events = events_of(database.session, stream)
                prev = "0" * 64
                for e in events:  # the downgrade left the plain formula's chain
                    assert (e.prev_hash, e.hash) == (prev, old_formula(e, prev))
                    prev = e.hash
            tampered = streams[0]
            database.session.execute(text(
                "ALTER TABLE case_event DISABLE TRIGGER case_event_append_only"))
            database.session.execute(text(
                "UPDATE case_event SET data = '{}' WHERE stream = :s AND seq = 1"),
                {"s": tampered})
            database.session.execute(text(
                "ALTER TABLE case_event ENABLE TRIGGER case_event_append_only"))
            database.session.commit()
            upgrade(directory=migrations)

        result = verify(application)

        assert result.exit_code == 1
        assert f"checked {len(streams)} chains, 1 broken" in result.output
        assert_broken(result, tampered, 1, "never keyed")
    finally:
        with application.app_context():
            database.engine.dispose()
        drop_database(server_url, name)
