"""Transactions by structure: one operation inside another fails loudly, reads end their own
transaction, and the services' "not found" is the web's 404."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from portal.accounts.models import Account
from portal.extensions import db as database
from portal.operations import NestedTransaction, NotFound, operation, reading


@operation
def _rename(reference: str, product: str) -> None:
    account = database.session.scalar(select(Account).where(Account.reference == reference))
    account.product = product


@operation
def _rename_twice(reference: str) -> None:
    _rename(reference, "first")
    _rename(reference, "second")


def _product(db, reference="NWB-1001") -> str:
    return db.scalar(select(Account.product).where(Account.reference == reference))


def test_an_operation_commits_what_it_wrote(db):
    db.run(_rename, "NWB-1001", "Renamed card")
    assert _product(db) == "Renamed card"


def test_an_operation_inside_another_fails_loudly_and_writes_nothing(db):
    before = _product(db)
    with pytest.raises(NestedTransaction, match="_rename started inside _rename_twice"):
        db.run(_rename_twice, "NWB-1001")
    assert _product(db) == before


def test_an_operation_inside_a_read_fails_loudly(db):
    def read_then_write():
        with reading("a report"):
            _rename("NWB-1001", "never")

    with pytest.raises(NestedTransaction, match="inside a report"):
        db.run(read_then_write)
    assert _product(db) != "never"


def test_a_read_ends_its_transaction_and_keeps_nothing_written_inside(db):
    def read():
        with reading():
            database.session.execute(text(
                "UPDATE account SET product = 'scribbled' WHERE reference = 'NWB-1001'"))
            inside = database.session().in_transaction()
        return inside, database.session().in_transaction()

    assert db.run(read) == (True, False)
    assert _product(db) != "scribbled"


def test_after_a_failed_operation_the_next_one_runs(db):
    @operation
    def fails():
        raise ValueError("no")

    with pytest.raises(ValueError):
        db.run(fails)
    db.run(_rename, "NWB-1001", "After a failure")
    assert _product(db) == "After a failure"


@pytest.mark.parametrize("path", ["/payments/00000000-0000-0000-0000-000000000000",
                                  "/disputes/D-999999", "/plans/P-999999"])
def test_a_services_not_found_is_the_webs_404(person, path):
    person.sign_in("DEMO-1001", "1985-04-12")
    page = person.get(path)
    assert page.status == 404
    assert "Page not found" in page.text


def test_not_found_is_a_domain_error_not_an_http_one():
    from werkzeug.exceptions import HTTPException

    assert not issubclass(NotFound, HTTPException)


@pytest.fixture(scope="module")
def committed(server_url, worker):
    """An app on a database of its own: two transactions on two connections, committed."""
    from tests.conftest import own_database_app

    with own_database_app(server_url, f"portal_operations_{worker}") as application:
        yield application


def test_a_deadlocks_victim_is_run_again_and_both_complete(committed):
    """Two operations lock two accounts in opposite orders at the same moment: PostgreSQL
    rolls one back as the deadlock's victim; that one runs again, whole, after the other
    commits; both renames are kept and the caller sees no error."""
    import threading

    together = threading.Barrier(2, timeout=30)
    runs: dict[str, int] = {"a": 0, "b": 0}
    failures: list[BaseException] = []

    @operation
    def rename_both(name: str, first: str, second: str) -> None:
        runs[name] += 1
        for reference in (first, second):
            account = database.session.scalar(select(Account).where(
                Account.reference == reference).with_for_update())
            account.product = f"{account.product.split(' /')[0]} / {name}"
            database.session.flush()
            if runs[name] == 1 and reference == first:
                together.wait()  # each holds its first account, then asks for the other's

    def work(name: str, first: str, second: str) -> None:
        try:
            with committed.app_context():
                rename_both(name, first, second)
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=work, args=("a", "NWB-1001", "NWB-1002")),
               threading.Thread(target=work, args=("b", "NWB-1002", "NWB-1001"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not failures, failures
    assert sorted(runs.values()) == [1, 2]  # the victim ran twice, the other once
    with committed.app_context():
        products = database.session.scalars(select(Account.product).where(
            Account.reference.in_(["NWB-1001", "NWB-1002"]))).all()
        database.session.rollback()
    # The one that ran last wrote both: the same name on the two accounts, both committed.
    last = max(runs, key=runs.get)
    assert all(p.endswith(f" / {last}") for p in products), products


def test_an_error_that_is_not_a_deadlock_is_not_run_again(db):
    calls = []

    @operation
    def fails() -> None:
        calls.append(1)
        database.session.execute(text("SELECT 1/0"))

    with pytest.raises(Exception, match="division by zero"):
        db.run(fails)
    assert calls == [1]
