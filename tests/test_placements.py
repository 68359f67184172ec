"""Placement imports on the real database: all or nothing, idempotent, one borrower per person,
adjustments not overwrites, events and webhooks, holds for known facts, chunks, undo, the CLI."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, update

from portal.accounts.models import Account, Borrower, ContactPoint, Creditor, LedgerEntry
from portal.cases.kinds import EventKind
from portal.cases.models import CaseEvent
from portal.cases.service import Actor
from portal.contact.models import ContactAttempt, ContactHold
from portal.contact.operations import record_attempt
from portal.extensions import db as database
from portal.messaging import letters
from portal.messaging.channels import EXTENSION
from portal.messaging.models import OutgoingMessage
from portal.messaging.outgoing import send_due
from portal.operations import Refused
from portal.outbox.models import OutboxMessage
from portal.placements import rows, service
from portal.placements.models import PlacementChunk, PlacementImport

STAFF = Actor("staff", "1", "test")
ROW = {
    "creditor_account_id": "NW-900001", "first_name": "Dana", "last_name": "Okafor",
    "date_of_birth": "1983-06-14", "national_id_last4": "5521", "address_line1": "9 Elm St",
    "address_line2": "", "city": "Albany", "region": "NY", "postal_code": "12207",
    "country": "US", "phone": "518 555 0134", "email": "dana@example.com", "language": "en",
    "currency": "USD", "principal": "1000.00", "interest": "25.50", "fees": "4.50",
    "itemization_date": "2025-06-30", "charge_off_date": "", "last_payment_date": "",
    "validation_notice_sent_at": "",
}


def row(n: int, **changes) -> dict:
    return {**ROW, "creditor_account_id": f"NW-{900000 + n}", "first_name": f"Dana{n}",
            **changes}


def placement_file(*lines: dict, header=rows.CONTRACT_FIELDS) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(header), extrasaction="ignore")
    writer.writeheader()
    writer.writerows(lines)
    return out.getvalue().encode()


def creditor(db, code="NWB") -> Creditor:
    return db.scalar(select(Creditor).where(Creditor.code == code))


def imported(db, data: bytes, code="NWB", chunk_size=1000) -> PlacementImport:
    """Start the import and place it here, chunk by chunk (what `--wait` does)."""
    imp = db.run(service.start, code, data, "placements.csv", STAFF, chunk_size=chunk_size,
                 defer=False)
    while db.run(service.run_chunk, imp.id) is not None:
        pass
    return db.run(service.get, imp.id)


def counts(db) -> dict:
    return {name: db.scalar(select(func.count()).select_from(model)) for name, model in [
        ("account", Account), ("borrower", Borrower), ("ledger", LedgerEntry),
        ("event", CaseEvent), ("outbox", OutboxMessage), ("point", ContactPoint),
        ("hold", ContactHold)]}


def account_of(db, creditor_account_id: str) -> Account:
    return db.run(lambda: database.session.scalar(select(Account).where(
        Account.original_account_number_digest == service.lookup_digest(
            creditor_account_id, "account.original_account_number"))))


def report(db, imp) -> list[list[str]]:
    return list(csv.reader(io.StringIO(db.run(service.report_csv, imp.id))))


def test_a_good_file_places_every_row_with_its_event_webhook_and_reference(db):
    before = counts(db)
    imp = imported(db, placement_file(row(1), row(2, currency="USD", principal="10.01",
                                                  interest="", fees="")))
    assert (imp.state, imp.placed, imp.total_rows, imp.done_rows) == ("done", 2, 2, 2)
    after = counts(db)
    assert after["account"] - before["account"] == 2
    assert after["borrower"] - before["borrower"] == 2
    lines = report(db, imp)
    assert lines[0] == ["line", "outcome", "account_reference", "adjustment", "currency"]
    assert [(r[0], r[1]) for r in lines[1:]] == [("2", "placed"), ("3", "placed")]
    first = account_of(db, "NW-900001")
    assert lines[1][2] == first.reference and first.reference.startswith("NWB-")
    assert db.run(lambda: service.ledger.balance_of(first.id, "USD").minor) == 103000
    placed = db.scalars(select(CaseEvent).where(CaseEvent.kind == EventKind.ACCOUNT_PLACED,
                                                CaseEvent.account_id == first.id))
    assert len(placed) == 1
    hooks = db.scalars(select(OutboxMessage).where(OutboxMessage.topic == "account.placed"))
    assert {h.account_ref for h in hooks} >= {first.reference}
    hook = next(h for h in hooks if h.account_ref == first.reference)
    assert hook.case_event_id == placed[0].id
    assert hook.payload["balance_minor"] == 103000
    borrower = db.run(lambda: database.session.get(Borrower, first.borrower_id))
    assert borrower.reference.startswith("P-")
    phones = db.scalars(select(ContactPoint.value).where(
        ContactPoint.borrower_id == borrower.id, ContactPoint.kind == "phone"))
    assert phones == ["+15185550134"]
    # The staged rows are gone once the import is done.
    assert db.scalars(select(PlacementChunk).where(PlacementChunk.import_id == imp.id)) == []


def test_one_bad_row_rejects_the_whole_file_and_the_report_names_it(db):
    before = counts(db)
    imp = imported(db, placement_file(row(1), row(2, email="nope", principal="1.005"),
                                      row(3, country="ZZ")))
    assert imp.state == "rejected"
    assert counts(db) == before
    lines = report(db, imp)
    assert lines[0] == ["line", "field", "problem"]
    assert [(r[0], r[1]) for r in lines[1:]] == [("3", "email"), ("3", "principal"),
                                                 ("4", "country")]
    assert "more decimals than USD" in lines[2][2]


def test_the_report_is_safe_to_open_in_a_spreadsheet(db):
    imp = imported(db, placement_file(row(1), header=[*rows.CONTRACT_FIELDS,
                                                      '=HYPERLINK("x")']))
    assert imp.state == "rejected"
    text = db.run(service.report_csv, imp.id)
    assert "'=HYPERLINK" in text and '\n=HYPERLINK' not in text.replace('"', "")


def test_the_same_file_twice_changes_nothing(db):
    data = placement_file(row(1), row(2))
    imported(db, data)
    before = counts(db)
    again = imported(db, data)
    assert (again.state, again.placed, again.adjusted, again.unchanged) == ("done", 0, 0, 2)
    assert counts(db) == before


def test_a_changed_balance_is_an_adjustment_with_its_event_never_an_overwrite(db):
    imported(db, placement_file(row(1)))
    account = account_of(db, "NW-900001")
    entries = db.scalars(select(LedgerEntry.id).where(LedgerEntry.account_id == account.id))
    imp = imported(db, placement_file(row(1, fees="0.00", interest="40.00")))
    assert (imp.adjusted, imp.placed) == (1, 0)
    after = db.scalars(select(LedgerEntry).where(LedgerEntry.account_id == account.id)
                       .order_by(LedgerEntry.id))
    assert [e.id for e in after[:len(entries)]] == entries  # nothing rewritten
    (adjustment,) = after[len(entries):]
    assert (adjustment.kind, adjustment.amount_minor) == ("adjustment", 1000)
    assert db.run(lambda: service.ledger.balance_of(account.id, "USD").minor) == 104000
    posted = db.scalars(select(CaseEvent).where(CaseEvent.kind == EventKind.LEDGER_POSTED,
                                                CaseEvent.account_id == account.id))
    assert any(e.data["entry"] == adjustment.id for e in posted)
    assert report(db, imp)[1][1:4] == ["adjusted", account.reference, "10.00"]


def test_one_person_under_several_accounts_is_one_borrower(db):
    same = {"first_name": "Sam", "last_name": "Lee"}
    before = counts(db)
    imported(db, placement_file(row(1, **same), row(2, **same),
                                row(3, **same, national_id_last4="0000")))
    assert counts(db)["borrower"] - before["borrower"] == 2
    a, b, c = (account_of(db, f"NW-90000{n}") for n in (1, 2, 3))
    assert a.borrower_id == b.borrower_id != c.borrower_id
    # And in a later file, and across the agency's creditors.
    imported(db, placement_file(row(4, **same)), code="LUM")
    assert account_of(db, "NW-900004").borrower_id == a.borrower_id


def test_a_person_without_id_digits_is_found_again_by_name_and_birth_alone(db):
    same = {"first_name": "Ira", "last_name": "Moss", "national_id_last4": ""}
    imported(db, placement_file(row(1, **same)))
    imported(db, placement_file(row(2, **same), row(3, first_name="Ira", last_name="Moss")),
             code="LUM")
    a, b, c = (account_of(db, f"NW-90000{n}") for n in (1, 2, 3))
    assert a.borrower_id == b.borrower_id != c.borrower_id  # row 3 has ID digits: another


def test_a_demo_borrower_placed_again_is_the_same_borrower_but_not_in_another_agency(db):
    alex = {"first_name": "Alex", "last_name": "Rivera", "date_of_birth": "1985-04-12",
            "national_id_last4": "4321"}
    imported(db, placement_file(row(1, **alex)))
    known = db.scalar(select(Borrower.id).where(Borrower.reference == "DEMO-1001"))
    assert account_of(db, "NW-900001").borrower_id == known
    imported(db, placement_file(row(2, **alex)), code="BRC")  # Harbor Recovery's creditor
    assert account_of(db, "NW-900002").borrower_id != known


@pytest.mark.parametrize(("changes", "rule"), [
    ({"deceased": "y"}, "us.deceased"),
    ({"bankruptcy": "2025-01-02"}, "us.bankruptcy-stay"),
    ({"bankruptcy": "y", "country": "GB", "region": "", "phone": "07911 123457"},
     "uk.insolvency"),
])
def test_a_known_death_or_bankruptcy_is_held_at_import(db, changes, rule):
    imp = imported(db, placement_file(row(1, **changes),
                                      header=[*rows.CONTRACT_FIELDS, *rows.EXTRA_FIELDS]))
    assert imp.state == "done"
    account = account_of(db, "NW-900001")
    holds = db.scalars(select(ContactHold.rule).where(
        ContactHold.borrower_id == account.borrower_id, ContactHold.ended_at.is_(None)))
    assert rule in holds


def test_a_fact_the_rulebook_has_no_hold_for_is_refused_not_placed_and_worked(db):
    imp = imported(db, placement_file(
        row(1, deceased="y", country="CN", region="BJ", phone="138 0013 8001"),
        header=[*rows.CONTRACT_FIELDS, *rows.EXTRA_FIELDS]))
    assert imp.state == "rejected"
    assert imp.problems[0][:2] == [2, "deceased"]


def test_a_known_account_in_another_currency_is_refused(db):
    imported(db, placement_file(row(1)))
    imp = imported(db, placement_file(row(1, currency="EUR")))
    assert imp.state == "rejected"
    assert imp.problems == [[2, "currency", "differs from the account's currency"]]


def test_a_lenders_own_header_through_the_creditors_saved_map(db):
    db.run(service.set_column_map, "NWB", {"Loan Number": "creditor_account_id",
                                           "Given": "first_name", "Branch": ""})
    theirs = ["Loan Number", "Given", *[f for f in rows.CONTRACT_FIELDS
                                        if f not in ("creditor_account_id", "first_name")],
              "Branch"]
    line = {**row(1), "Loan Number": "NW-900001", "Given": "Dana1", "Branch": "north"}
    imp = imported(db, placement_file(line, header=theirs))
    assert (imp.state, imp.placed) == ("done", 1)
    with pytest.raises(Refused):
        db.run(service.set_column_map, "NWB", {"x": "shoe_size"})


def test_check_previews_without_writing(db):
    before = counts(db)
    checked = db.run(service.check, creditor(db), placement_file(row(1), row(2, email="x")),
                     "f.csv")
    assert (checked.total_rows, checked.bad_rows, checked.ok) == (2, 1, False)
    assert checked.preview[0]["creditor_account_id"] == "NW-900001"
    assert counts(db) == before


def test_staged_rows_are_encrypted_at_rest(db):
    imp = db.run(service.start, "NWB", placement_file(row(1)), "f.csv", STAFF, defer=False)
    raw = db.scalars(select(func.encode(PlacementChunk.__table__.c.rows, "escape")).where(
        PlacementChunk.import_id == imp.id))
    assert raw and "Okafor" not in raw[0] and "dana@example.com" not in raw[0]


def outcome(db, code: str, n: int) -> list[tuple]:
    """What an import left, comparable across creditors: per row, balance, entries and events."""
    result = []
    for i in range(1, n + 1):
        account = account_of(db, f"{code}-{i}")
        events = db.scalars(select(CaseEvent.kind).where(CaseEvent.account_id == account.id)
                            .order_by(CaseEvent.seq))
        entries = db.scalars(select(LedgerEntry.amount_minor).where(
            LedgerEntry.account_id == account.id).order_by(LedgerEntry.id))
        result.append((account.status, tuple(entries), tuple(events)))
    return result


def test_a_chunk_cut_short_rolls_back_whole_and_resuming_equals_an_uninterrupted_run(
        db, monkeypatch):
    def lines(code):
        return placement_file(*[row(i, creditor_account_id=f"{code}-{i}",
                                    principal=f"{100 + i}.00") for i in range(1, 8)])

    # Uninterrupted, in chunks of 3 (Harbor Recovery's creditor: its borrowers are its own).
    whole = imported(db, lines("W"), code="BRC", chunk_size=3)
    assert (whole.state, whole.chunks, whole.placed) == ("done", 3, 7)

    imp = db.run(service.start, "NWB", lines("C"), "c.csv", STAFF, chunk_size=3, defer=False)
    db.run(service.run_chunk, imp.id)
    real = service.placement.place_many

    def killed_after_placing(creditor, debts, actor):
        placed = real(creditor, debts, actor)
        if any(debt.original_account_number == "C-5" for _owner, debt in debts):
            raise SystemExit("worker killed")
        return placed

    monkeypatch.setattr(service.placement, "place_many", killed_after_placing)
    with pytest.raises(SystemExit):
        db.run(service.run_chunk, imp.id)
    after_crash = db.run(service.progress, imp.id)
    assert (after_crash.state, after_crash.done_rows, after_crash.placed) == ("importing", 3, 3)
    assert account_of(db, "C-4") is None  # placed before the crash, rolled back with its chunk
    monkeypatch.setattr(service.placement, "place_many", real)
    while db.run(service.run_chunk, imp.id) is not None:
        pass
    done = db.run(service.get, imp.id)
    assert (done.state, done.placed, done.done_rows) == ("done", 7, 7)
    assert outcome(db, "C", 7) == outcome(db, "W", 7)


def test_undo_closes_what_it_placed_and_reverses_what_it_adjusted(db):
    imported(db, placement_file(row(1)))
    earlier = account_of(db, "NW-900001")
    imp = imported(db, placement_file(row(1, principal="1100.00"), row(2)))
    db.run(service.undo, imp.id, STAFF)
    assert db.run(service.get, imp.id).state == "undone"
    placed = account_of(db, "NW-900002")
    assert placed.status == "closed"
    assert db.run(lambda: service.ledger.balance_of(placed.id, "USD").minor) == 0
    closed = db.scalars(select(CaseEvent).where(CaseEvent.account_id == placed.id,
                                                CaseEvent.kind == EventKind.ACCOUNT_CLOSED))
    assert closed[0].data["reason"] == "placement.undone"
    assert db.run(lambda: service.ledger.balance_of(earlier.id, "USD").minor) == 103000
    assert account_of(db, "NW-900001").status == "open"
    with pytest.raises(Refused):
        db.run(service.undo, imp.id, STAFF)  # once


def test_undo_withdraws_a_first_letter_still_waiting_and_says_which_went(app, db, tmp_path,
                                                                         monkeypatch):
    vendor = letters.FolderPrintVendor(tmp_path)
    monkeypatch.setitem(app.extensions, EXTENSION, {"email": None, "sms": None, "letter": vendor})
    imp = imported(db, placement_file(row(1), row(2)))
    first, second = account_of(db, "NW-900001"), account_of(db, "NW-900002")
    waiting = db.scalars(select(OutgoingMessage).where(OutgoingMessage.account_id.in_(
        [first.id, second.id])).order_by(OutgoingMessage.account_id))
    assert [m.kind for m in waiting] == ["validation_notice"] * 2
    db.run(lambda: database.session.execute(  # the first account's letter left for the printer
        update(OutgoingMessage).where(OutgoingMessage.id == waiting[0].id)
        .values(status="sent", tries=1)))
    db.run(service.undo, imp.id, STAFF)
    after = {m.account_id: m.status for m in db.scalars(select(OutgoingMessage))}
    assert after == {first.id: "sent", second.id: "cancelled"}
    assert db.run(send_due) == []  # the withdrawn letter never goes
    assert list(tmp_path.glob("*.pdf")) == []
    closed = {e.account_id: e.data["first_letter_sent"] for e in db.scalars(
        select(CaseEvent).where(CaseEvent.kind == EventKind.ACCOUNT_CLOSED))}
    assert closed == {first.id: True, second.id: False}
    attempt = db.scalar(select(ContactAttempt).where(ContactAttempt.account_id == second.id))
    assert attempt.outcome == "cancelled"


def test_undo_is_refused_with_the_reason_once_something_happened(db):
    imp = imported(db, placement_file(row(1)))
    account = account_of(db, "NW-900001")
    before = counts(db)
    db.run(lambda: record_attempt(database.session.get(Account, account.id), "call", None,
                                  datetime.now(UTC), "no_answer", STAFF))
    with pytest.raises(Refused) as refused:
        db.run(service.undo, imp.id, STAFF)
    assert account.reference in refused.value.message
    assert "contact.attempt_recorded" in refused.value.message
    assert counts(db)["account"] == before["account"]
    assert account_of(db, "NW-900001").status == "open"


def test_an_import_of_one_agency_is_not_found_from_another(db):
    imp = imported(db, placement_file(row(1)))
    other = db.scalar(select(Creditor.agency_id).where(Creditor.code == "BRC"))
    with pytest.raises(service.NotFound):
        db.run(service.progress, imp.id, other)
    with pytest.raises(service.NotFound):
        db.run(service.undo, imp.id, STAFF, other)
    with pytest.raises(service.NotFound):
        db.run(service.start, "NWB", placement_file(row(2)), "f.csv", STAFF, agency_id=other)


def test_the_cli_imports_with_progress_and_rejects_with_the_lines(app, db, tmp_path):
    runner = app.test_cli_runner()
    good = tmp_path / "good.csv"
    good.write_bytes(placement_file(*[row(i) for i in range(1, 4)]))
    result = runner.invoke(args=["placements", "import", str(good), "--creditor", "NWB",
                                 "--chunk-size", "2"])
    assert result.exit_code == 0, result.output
    assert "2/3 rows" in result.output and "3/3 rows" in result.output
    assert "placed 3" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_bytes(placement_file(row(4), row(5, date_of_birth="1990-13-01")))
    report_path = tmp_path / "report.csv"
    result = runner.invoke(args=["placements", "import", str(bad), "--creditor", "NWB",
                                 "--report", str(report_path)])
    assert result.exit_code == 1
    assert "line 3, date_of_birth: not a calendar date" in result.output
    assert "3,date_of_birth" in report_path.read_text()
    result = runner.invoke(args=["placements", "set-map", "--creditor", "NWB",
                                 "Acct=creditor_account_id"])
    assert result.exit_code == 0 and "Acct -> creditor_account_id" in result.output


def test_accounts_placed_set_based_are_what_place_writes_and_their_chains_verify(db):
    from portal.accounts.placement import Debt, ensure_borrower, place
    from portal.cases.service import verify_all
    from portal.money import Money

    imported(db, placement_file(row(1, validation_notice_sent_at="2025-07-01")))
    bulk = account_of(db, "NW-900001")

    def one_by_one():
        usd = lambda minor: Money(minor, "USD")  # noqa: E731
        borrower = ensure_borrower(service._person(rows.read_row(
            row(2), 2, service.datetime.now(service.UTC).date())[0], "P-ONEBYONE"))
        return place(creditor(db), borrower, Debt(
            "NWB-ONEBYONE", "Placed debt", "NW-900002", usd(100000), usd(2550), usd(450),
            usd(0), service.date(2025, 6, 30),
            validation_notice_sent_at=service.datetime(2025, 7, 1, tzinfo=service.UTC)),
            STAFF)

    single = db.run(one_by_one)

    def shape(account):
        events = db.scalars(select(CaseEvent).where(CaseEvent.account_id == account.id)
                            .order_by(CaseEvent.seq))
        entries = db.scalars(select(LedgerEntry).where(LedgerEntry.account_id == account.id)
                             .order_by(LedgerEntry.id))
        points = db.scalars(select(ContactPoint.kind).where(
            ContactPoint.borrower_id == account.borrower_id).order_by(ContactPoint.id))
        return ([(e.seq, e.kind, sorted(e.data)) for e in events],
                [(e.kind, e.amount_minor, e.effective_date, e.description) for e in entries],
                points)

    assert shape(bulk) == shape(single)
    assert db.run(verify_all).breaks == []
