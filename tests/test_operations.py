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
