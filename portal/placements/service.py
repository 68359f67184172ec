"""Placement imports: check a file, start it, place it chunk by chunk, report on it, undo it.

The console and the CLI call these; each operation is one transaction. A file is read and every
row checked (`rows.py`) before anything is staged: one bad row and nothing is placed, only the
import's row with its report is kept. A good file is staged in encrypted chunks and placed one
chunk per transaction (`run_chunk`), the chunk deleted and the import's counts moved in the same
transaction, so a worker killed mid-chunk leaves the chunk staged and the next run places it
whole; several workers place the chunks of one import side by side.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import secrets
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from itertools import pairwise

from flask_babel import gettext as _
from sqlalchemy import (
    Integer,
    LargeBinary,
    String,
    and_,
    delete,
    func,
    literal,
    or_,
    select,
    text,
    union,
)

from portal import csvsafe
from portal.accounts import ledger, placement
from portal.accounts.models import Account, AccountStatus, Borrower, Creditor
from portal.accounts.placement import Address, Debt, Person
from portal.bulk import any_of, insert_rows, young_objects_collected
from portal.cases.kinds import EventKind
from portal.cases.models import CaseEvent
from portal.cases.service import Actor
from portal.contact import operations as contact_ops
from portal.contact.derive import BANKRUPTCY_RULE, DECEASED_RULE, INSOLVENCY_RULE
from portal.contact.models import ContactAttempt
from portal.crypto import lookup_digest
from portal.extensions import db
from portal.jobs.queue import defer_in_transaction
from portal.messaging import screen
from portal.money import Money, minor_digits
from portal.notices.content import KINDS as FIRST_LETTER_KINDS
from portal.notices.service import queue_first_letters
from portal.operations import NotFound, Refused, operation, reading
from portal.outbox.service import publish_many
from portal.placements import rows
from portal.placements.models import (
    ImportState,
    LineOutcome,
    PlacementChunk,
    PlacementColumnMap,
    PlacementImport,
    PlacementLine,
)

#: Rows placed per transaction.
CHUNK_SIZE = 1000
#: Rows checked against the accounts we hold per query.
CHECK_BATCH = 5000
#: Rows shown before confirming.
PREVIEW_ROWS = 10
#: Problems kept in a rejection report (a file of a million bad rows says enough in these).
MAX_PROBLEMS = 10_000
#: The job that places staged imports (deferred by `start`, and every minute).
RUN_TASK = "placements.run"
#: Case-event kinds that mean something has happened on an account: its import cannot be undone.
ACTED_ON = ("payment.", "plan.", "dispute.", "contact.attempt_recorded")
#: Who records the import's own first letters (notify's actor for each letter kind).
FIRST_LETTERS = tuple(f"messaging:{kind}" for kind in FIRST_LETTER_KINDS.values())
#: Reference alphabet: no 0/O, 1/I/L, so it reads back from a letter over the phone.
_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
#: How the rows' facts map to the holds the rulebook has, by country (none: the row is refused).
FACT_HOLDS = {
    "deceased": set(DECEASED_RULE),
    "bankruptcy": set(BANKRUPTCY_RULE) | set(INSOLVENCY_RULE),
}


@dataclass
class Check:
    """A file as it would be read: the header in our names, the first rows, the problems."""

    filename: str
    header: list[str]
    preview: list[dict]
    problems: list[rows.Problem]
    total_rows: int
    bad_rows: int
    sha256: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class Progress:
    """How far an import has got."""

    import_id: int
    state: str
    done_rows: int
    total_rows: int
    placed: int
    adjusted: int
    unchanged: int

    @property
    def percent(self) -> int:
        return 100 if not self.total_rows else (100 * self.done_rows) // self.total_rows


# --- the column map ------------------------------------------------------------------------------


def column_map(creditor_id: int) -> dict[str, str]:
    row = db.session.get(PlacementColumnMap, creditor_id)
    return dict(row.columns) if row else {}


@operation
def set_column_map(creditor_code: str, columns: dict[str, str]) -> dict[str, str]:
    """Save a creditor's own header, {their column: our field or "" to ignore}; refused if it
    names a field we do not have."""
    creditor = _creditor(creditor_code)
    unknown = sorted(v for v in columns.values() if v and v not in rows.FIELDS)
    if unknown:
        raise Refused(_("No such field: %(fields)s.", fields=", ".join(unknown)))
    row = db.session.get(PlacementColumnMap, creditor.id)
    if row is None:
        row = PlacementColumnMap(creditor_id=creditor.id, columns={})
        db.session.add(row)
    row.columns = {k.strip(): v.strip() for k, v in columns.items()}
    row.updated_at = datetime.now(UTC)
    return dict(row.columns)


def _creditor(code: str) -> Creditor:
    creditor = db.session.scalar(select(Creditor).where(Creditor.code == code))
    if creditor is None:
        raise NotFound(f"no creditor {code}")
    return creditor


# --- checking a file -----------------------------------------------------------------------------


def check(creditor: Creditor, data: bytes, filename: str, today: date | None = None) -> Check:
    """Read the whole file and check every row (nothing is written): the problems by line and
    field, the first rows as they will be read, and the counts. The rows are not kept: a file of
    a million rows is checked in the memory of a few thousand."""
    result = Check(filename=filename, header=[], preview=[], problems=[], total_rows=0,
                   bad_rows=0, sha256=hashlib.sha256(data).hexdigest())
    for good in _read(creditor, data, today, result):
        if len(result.preview) < PREVIEW_ROWS:
            result.preview.append(good.as_dict())
    return result


def _read(creditor: Creditor, data: bytes, today: date | None,
          result: Check) -> Iterator[rows.Placement]:
    """The file's good rows, in order, as they are read; its problems and counts go to `result`
    (so a caller that finds none there may place every row it was given)."""
    today = today or datetime.now(UTC).date()
    try:
        # Decoded as it is read, not copied whole into a string.
        text = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", newline="")
        records = csv.reader(text)
        header = next(records)
    except UnicodeDecodeError:
        result.problems.append(rows.Problem(0, "file", "not UTF-8 text"))
        return
    except (StopIteration, csv.Error):
        result.problems.append(rows.Problem(1, "file", "no header line"))
        return
    result.header = rows.apply_map(header, column_map(creditor.id))
    result.problems += rows.header_problems(result.header)
    if result.problems:
        return
    bad_lines: set[int] = set()
    # Each row's account id as a 64-bit hash, and its line: a million rows in 16 MB, where a
    # dict of the ids took ten times that. Repeats are found at the end (`_repeats`).
    hashes, lines = array("q"), array("q")
    waiting: list[rows.Placement] = []

    def problem(p: rows.Problem) -> None:
        bad_lines.add(p.line)
        if len(result.problems) < MAX_PROBLEMS:
            result.problems.append(p)

    def settle() -> Iterator[rows.Placement]:
        """The rows waiting, checked against the accounts we hold (in batches: one query)."""
        currency_of = _known_currencies(creditor.id, waiting)
        for p in waiting:
            known = currency_of.get(p.creditor_account_id)
            if known is not None and known != p.currency:
                problem(rows.Problem(p.line, "currency", "differs from the account's currency"))
            elif p.line not in bad_lines:
                yield p
        waiting.clear()

    line = 1
    try:
        for record in records:
            line += 1
            if not any(cell.strip() for cell in record):
                continue  # a blank line (many spreadsheets end with one)
            result.total_rows += 1
            if len(record) != len(header):
                problem(rows.Problem(line, "file", f"{len(record)} cells where the header has "
                                                   f"{len(header)}"))
                continue
            read, problems = rows.read_row(dict(zip(result.header, record, strict=True)),
                                           line, today)
            for p in problems:
                problem(p)
            if read is None:
                continue
            hashes.append(hash(read.creditor_account_id))
            lines.append(line)
            for fact, countries in FACT_HOLDS.items():
                if getattr(read, fact) and read.country not in countries:
                    problem(rows.Problem(
                        line, fact, f"the portal has no hold for this in {read.country}: "
                                    "give it to staff instead of placing the account"))
            waiting.append(read)
            if len(waiting) >= CHECK_BATCH:
                yield from settle()
    except UnicodeDecodeError:
        problem(rows.Problem(line, "file", "not UTF-8 text"))
    except csv.Error as exc:
        problem(rows.Problem(line, "file", f"not readable as CSV ({exc})"))
    yield from settle()
    for later, earlier in _repeats(hashes, lines):
        problem(rows.Problem(later, "creditor_account_id", f"the same account as line {earlier}"))
    if result.total_rows == 0 and not result.problems:
        result.problems.append(rows.Problem(2, "file", "no rows"))
    result.problems.sort(key=lambda p: p.line)
    result.bad_rows = len(bad_lines)


def _repeats(hashes: array, lines: array) -> Iterator[tuple[int, int]]:
    """(line, first line) of each row whose account id an earlier row had: equal hashes, in
    file order. Two different ids with one 64-bit hash (about one chance in 10^8 in a file of a
    million rows) would be named a repeat too: the file is refused, never wrongly placed."""
    order = sorted(range(len(hashes)), key=hashes.__getitem__)
    first = None
    for before, at in pairwise(order):
        if hashes[before] != hashes[at]:
            first = None
            continue
        first = lines[before] if first is None else first
        yield lines[at], first


def _known_currencies(creditor_id: int, batch: list[rows.Placement]) -> dict[str, str]:
    """The currency of each of these rows' accounts we already hold (open), by the creditor's id."""
    if not batch:
        return {}
    digests = {lookup_digest(p.creditor_account_id, "account.original_account_number"):
               p.creditor_account_id for p in batch}
    found = db.session.execute(select(Account.original_account_number_digest, Account.currency)
                               .where(Account.creditor_id == creditor_id,
                                      Account.original_account_number_digest
                                      == any_of(digests, LargeBinary()),
                                      Account.status != AccountStatus.CLOSED))
    return {digests[digest]: currency for digest, currency in found}


def _batches(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _open_accounts(creditor_id: int, batch: list[rows.Placement]) -> dict[str, Account]:
    """The creditor's accounts still placed with us (not closed), by the creditor's own id."""
    digests = {lookup_digest(p.creditor_account_id, "account.original_account_number"):
               p.creditor_account_id for p in batch}
    found = db.session.scalars(select(Account).where(
        Account.creditor_id == creditor_id,
        Account.original_account_number_digest == any_of(digests, LargeBinary()),
        Account.status != AccountStatus.CLOSED))
    return {digests[a.original_account_number_digest]: a for a in found}


# --- starting an import --------------------------------------------------------------------------


@operation
def start(creditor: Creditor | str, data: bytes, filename: str, actor: Actor, *,
          chunk_size: int = CHUNK_SIZE, defer: bool = True,
          agency_id: int | None = None) -> PlacementImport:
    """Check the file and keep the import: rejected with its report (nothing else written), or
    staged in encrypted chunks and queued for the worker (unless `defer` is False: the CLI's
    `--wait` places it itself). With `agency_id` (a staff user's), another agency's creditor is
    NotFound."""
    if isinstance(creditor, str):
        creditor = _creditor(creditor)
    if agency_id is not None and creditor.agency_id != agency_id:
        raise NotFound(f"no creditor {creditor.code}")
    if chunk_size < 1:
        raise Refused(_("A chunk has at least one row."))
    imp = PlacementImport(
        agency_id=creditor.agency_id, creditor_id=creditor.id, filename=filename[:200],
        sha256=hashlib.sha256(data).hexdigest(), state=ImportState.VALIDATING, total_rows=0,
        done_rows=0, chunk_size=chunk_size, next_chunk=0, chunks=0, placed=0, adjusted=0,
        unchanged=0, problems=[], actor_type=actor.type, actor_id=actor.id)
    db.session.add(imp)
    db.session.flush()
    # Read once: checked and staged a chunk at a time; the first problem stops the staging.
    checked = Check(filename=filename, header=[], preview=[], problems=[], total_rows=0,
                    bad_rows=0, sha256=imp.sha256)
    batch: list[rows.Placement] = []
    for good in _read(creditor, data, None, checked):
        if checked.problems:
            continue
        batch.append(good)
        if len(batch) == chunk_size:
            _stage(imp, batch)
            batch = []
    imp.total_rows = checked.total_rows
    if not checked.ok:
        # What was staged before the first problem goes: a rejected file writes only its report.
        db.session.execute(delete(PlacementChunk).where(PlacementChunk.import_id == imp.id))
        imp.chunks = 0
        imp.state = ImportState.REJECTED
        imp.problems = [[p.line, p.field, p.message] for p in checked.problems]
        imp.finished_at = datetime.now(UTC)
        return imp
    _stage(imp, batch)
    imp.state = ImportState.READY
    db.session.flush()
    if defer:
        defer_in_transaction(RUN_TASK, queueing_lock=RUN_TASK)
    return imp


# --- placing, one chunk per transaction ----------------------------------------------------------


def _stage(imp: PlacementImport, batch: list[rows.Placement]) -> None:
    """One chunk of checked rows, encrypted in its own row (and out of the session at once)."""
    if not batch:
        return
    chunk = PlacementChunk(import_id=imp.id, seq=imp.chunks,
                           rows=json.dumps([p.as_dict() for p in batch]))
    db.session.add(chunk)
    db.session.flush()
    db.session.expunge(chunk)
    imp.chunks += 1


@dataclass
class Placing:
    """What placing one chunk needs of its import, and what it counts, apart from the import's
    row: workers place chunks of one import side by side, and add their counts to the row, under
    its lock, only once their chunk is placed."""

    id: int
    creditor_id: int
    agency_id: int | None
    actor_type: str
    actor_id: str | None
    placed: int = 0
    adjusted: int = 0
    unchanged: int = 0


@operation
def run_chunk(import_id: int | None = None) -> Progress | None:
    """Place one staged chunk of an import (this one, or the oldest waiting) and delete it in the
    same transaction; None when no chunk is free to place. Chunks are taken with SKIP LOCKED, so
    workers (on one machine or many) place the chunks of one import side by side; a worker killed
    mid-chunk leaves that chunk staged, whole, for the next."""
    query = (select(PlacementChunk.import_id, PlacementChunk.seq)
             .join(PlacementImport, PlacementImport.id == PlacementChunk.import_id)
             .where(PlacementImport.state.in_([ImportState.READY, ImportState.IMPORTING])))
    if import_id is not None:
        query = query.where(PlacementChunk.import_id == import_id)
    taken = db.session.execute(query.order_by(PlacementChunk.import_id, PlacementChunk.seq)
                               .limit(1).with_for_update(of=PlacementChunk,
                                                         skip_locked=True)).first()
    if taken is None:
        return None
    imp = db.session.get(PlacementImport, taken.import_id)
    placing = Placing(imp.id, imp.creditor_id, imp.agency_id, imp.actor_type, imp.actor_id)
    chunk = db.session.scalar(select(PlacementChunk).where(
        PlacementChunk.import_id == taken.import_id, PlacementChunk.seq == taken.seq))
    with young_objects_collected():
        batch = [rows.Placement.from_dict(d) for d in json.loads(chunk.rows)]
        new_ids = _place_chunk(placing, batch)
        queue_first_letters(new_ids, _actor(placing))
    db.session.execute(delete(PlacementChunk).where(
        PlacementChunk.import_id == taken.import_id, PlacementChunk.seq == taken.seq))
    # The counts go on the import's row under its lock (read again: another worker may have
    # added theirs), held only from here to the commit. FOR NO KEY UPDATE: the chunk's lines
    # hold a key-share lock on the row (their foreign key), which a plain FOR UPDATE would wait
    # for, and two workers at this point would wait for each other.
    imp = db.session.get(PlacementImport, taken.import_id,
                         with_for_update={"key_share": True}, populate_existing=True)
    imp.done_rows += len(batch)
    imp.next_chunk += 1
    imp.placed += placing.placed
    imp.adjusted += placing.adjusted
    imp.unchanged += placing.unchanged
    if imp.next_chunk & (imp.next_chunk - 1) == 0:
        _analyze_grown_tables()
    left = db.session.scalar(select(func.count()).select_from(PlacementChunk).where(
        PlacementChunk.import_id == imp.id))
    if left:
        imp.state = ImportState.IMPORTING
    else:
        imp.state = ImportState.DONE
        imp.finished_at = datetime.now(UTC)
    return _progress(imp)


#: The tables a chunk grows and the next chunk looks up by index: their planner statistics are
#: refreshed as an import doubles them.
GROWN_TABLES = ("borrower", "account", "contact_point", "contact_point_summary", "ledger_entry",
                "case_event", "case_stream", "contact_attempt", "outgoing_message",
                "outbox_message", "placement_line")


def _analyze_grown_tables() -> None:
    """ANALYZE what the import has grown, after its 1st, 2nd, 4th, 8th... chunk (one worker
    each time: the count moves under the import's lock). A server without autovacuum, or one
    that has not got to it, plans the chunk's look-ups with the statistics of empty tables:
    a thousand borrowers' contact points were read by scanning every contact point (the
    million-row import slowed from 1,000 rows/s to 300 by its 130,000th row)."""
    db.session.execute(text("ANALYZE " + ", ".join(GROWN_TABLES)))


def _actor(imp: PlacementImport | Placing) -> Actor:
    return Actor(imp.actor_type, imp.actor_id, f"placement:{imp.id}")


#: The first key of the advisory locks on the people of a chunk (the second: the person's hash).
PERSON_LOCKS = 0x706C6163


def _lock_people(keys: list[tuple]) -> None:
    """Wait for any other chunk placing one of these people (a borrower under accounts in two
    chunks is one borrower): an advisory lock per person until the commit, taken in one order,
    so two chunks never wait for each other."""
    hashes = sorted({int.from_bytes(hashlib.blake2b(repr(k).encode(), digest_size=4).digest(),
                                    "big", signed=True) for k in keys})
    db.session.execute(text("SELECT pg_advisory_xact_lock(CAST(:space AS integer), k) "
                            "FROM unnest(CAST(:keys AS integer[])) AS k"),
                       {"space": PERSON_LOCKS, "keys": hashes})


def _place_chunk(imp: Placing, batch: list[rows.Placement]) -> list[int]:
    """Place, adjust or leave each row's account; the ids of the accounts placed. New accounts
    (most rows of most files) are written set-based, a few statements per chunk."""
    creditor = db.session.get(Creditor, imp.creditor_id)
    actor = _actor(imp)
    now = datetime.now(UTC)
    all_keys = [_person_key(p) for p in batch]  # two keyed digests each: computed once
    _lock_people(all_keys)
    key_of = {p.line: key for p, key in zip(batch, all_keys, strict=True)}
    known = _open_accounts(creditor.id, batch)
    totals = ledger.placed_total([a.id for a in known.values()])
    people = _borrowers(imp.agency_id, batch)
    lines, fresh = [], []
    for p in batch:
        account = known.get(p.creditor_account_id)
        if account is None:
            fresh.append(p)
            continue
        delta = p.total - totals.get(account.id, 0)
        if delta:
            ledger.post_adjustment(account, delta, "The creditor's new balance", actor, now)
            ledger.settle_status(account, actor, now)
            imp.adjusted += 1
        else:
            imp.unchanged += 1
        lines.append({"import_id": imp.id, "line": p.line, "account_id": account.id,
                      "outcome": LineOutcome.ADJUSTED if delta else LineOutcome.UNCHANGED,
                      "adjustment_minor": delta or None})
    keys = [key_of[p.line] for p in fresh]
    new_people = {}
    for p, key in zip(fresh, keys, strict=True):
        if key not in people and key not in new_people:
            new_people[key] = p
    references = _references("P-", Borrower, len(new_people))
    added = placement.add_borrowers([_person(p, ref) for p, ref in
                                     zip(new_people.values(), references, strict=True)])
    people.update(zip(new_people, added, strict=True))
    owners = [people[key] for key in keys]
    account_refs = _references(f"{creditor.code}-", Account, len(fresh))
    new_ids = placement.place_many(creditor, [
        (owner, _debt(p, ref)) for p, owner, ref in zip(fresh, owners, account_refs, strict=True)],
        actor)
    events = dict(db.session.execute(select(CaseEvent.account_id, CaseEvent.id).where(
        CaseEvent.account_id == any_of(new_ids, Integer()),
        CaseEvent.kind == EventKind.ACCOUNT_PLACED)).all())
    publish_many("account.placed", [
        ({"account_ref": ref, "creditor": creditor.code,
          "creditor_account_id": p.creditor_account_id, "currency": p.currency,
          "balance_minor": p.total, "import": imp.id}, ref, events[aid])
        for p, ref, aid in zip(fresh, account_refs, new_ids, strict=True)], imp.agency_id)
    for p, owner in zip(fresh, owners, strict=True):
        if p.deceased or p.bankruptcy:
            _facts(db.session.get(Borrower, owner), p, actor)
    imp.placed += len(fresh)
    lines += [{"import_id": imp.id, "line": p.line, "account_id": aid,
               "outcome": LineOutcome.PLACED, "adjustment_minor": None}
              for p, aid in zip(fresh, new_ids, strict=True)]
    if lines:
        insert_rows(PlacementLine.__table__, lines)
    return new_ids


def _person_key(p: rows.Placement) -> tuple:
    return (p.first_name.casefold(), p.last_name.casefold(),
            lookup_digest(p.date_of_birth, "borrower.date_of_birth"),
            lookup_digest(p.national_id_last4, "borrower.national_id_last4")
            if p.national_id_last4 else None)


def _borrowers(agency_id: int | None, batch: list[rows.Placement]) -> dict[tuple, int]:
    """Borrowers already known to this agency (an account with one of its creditors) with the
    same name, date of birth and national-ID digits as a row: one person, one borrower. Looked
    up by both digests together (an index each) and checked against the agency account by
    account, so a chunk reads the few people it may name: by birthday alone it read every
    borrower born on one of its thousand birthdays, in a large agency most of them, again for
    every chunk (the million-row import slowed and grew by a megabyte a chunk)."""
    births, pairs = set(), set()
    for p in batch:
        born = lookup_digest(p.date_of_birth, "borrower.date_of_birth")
        if p.national_id_last4:
            pairs.add((born, lookup_digest(p.national_id_last4, "borrower.national_id_last4")))
        else:
            births.add(born)
    wanted = []
    if pairs:
        wanted.append(and_(
            Borrower.date_of_birth_digest == any_of({b for b, _ in pairs}, LargeBinary()),
            Borrower.national_id_last4_digest == any_of({d for _, d in pairs}, LargeBinary())))
    if births:
        wanted.append(and_(Borrower.date_of_birth_digest == any_of(births, LargeBinary()),
                           Borrower.national_id_last4_digest.is_(None)))
    if not wanted:
        return {}
    theirs = select(Account.id).join(Creditor).where(
        Account.borrower_id == Borrower.id, Creditor.agency_id == agency_id).exists()
    found = db.session.execute(
        select(Borrower.id, Borrower.given_name, Borrower.family_name,
               Borrower.date_of_birth_digest, Borrower.national_id_last4_digest)
        .where(or_(*wanted), theirs).order_by(Borrower.id))
    people = {}
    for bid, given, family, born, last4 in found:
        people.setdefault((given.casefold(), family.casefold(), born, last4), bid)
    return people


def _random_code(length: int = 8) -> str:
    """`length` characters of the alphabet, each uniformly at random: the digits in its base of
    one number drawn below its size to the power of `length` (one read of the system's random
    source, where a draw per character made eight)."""
    number = secrets.randbelow(len(_ALPHABET) ** length)
    code = []
    for _position in range(length):
        number, digit = divmod(number, len(_ALPHABET))
        code.append(_ALPHABET[digit])
    return "".join(code)


def _references(prefix: str, model, count: int) -> list[str]:
    """New random references no row has yet (what the borrower types to sign in)."""
    made: list[str] = []
    while len(made) < count:
        wanted = {prefix + _random_code() for _ in range(count - len(made))} - set(made)
        taken = set(db.session.scalars(select(model.reference).where(
            model.reference == any_of(wanted, String()))))
        made += sorted(wanted - taken)
    return made


def _person(p: rows.Placement, reference: str) -> Person:
    return Person(
        reference=reference, given_name=p.first_name, family_name=p.last_name,
        display_name=f"{p.first_name} {p.last_name}",
        date_of_birth=date.fromisoformat(p.date_of_birth),
        address=Address(p.address_line1, p.city, p.region, p.postal_code, p.country,
                        p.address_line2),
        phones=[("mobile", p.phone)] if p.phone else [],
        emails=[p.email] if p.email else [], language=p.language,
        national_id_last4=p.national_id_last4)


def _debt(p: rows.Placement, reference: str) -> Debt:
    def day(text):
        return date.fromisoformat(text) if text else None

    return Debt(
        reference=reference, product="Placed debt",
        original_account_number=p.creditor_account_id,
        on_itemization_date=Money(p.principal, p.currency), interest=Money(p.interest, p.currency),
        fees=Money(p.fees, p.currency), payments=Money(0, p.currency),
        itemization_date=day(p.itemization_date), charge_off_date=day(p.charge_off_date),
        last_payment_date=day(p.last_payment_date),
        validation_notice_sent_at=(datetime.fromisoformat(p.validation_notice_sent_at)
                                   if p.validation_notice_sent_at else None))


def _facts(borrower: Borrower, p: rows.Placement, actor: Actor) -> None:
    """A death or bankruptcy the creditor knows of: its event and hold, as staff would record
    it (once per borrower)."""
    held = {h.key for h in contact_ops.service.live_holds(borrower.id, None)}
    if p.deceased and "deceased" not in held:
        contact_ops.hold_recorded(borrower, "deceased", None, actor)
    if p.bankruptcy:
        if p.country in BANKRUPTCY_RULE and "bankruptcy" not in held:
            contact_ops.bankruptcy_reported(borrower, None, actor)
        elif p.country in INSOLVENCY_RULE and "insolvency" not in held:
            contact_ops.hold_recorded(borrower, "insolvency", "bankruptcy", actor)


# --- progress, report, undo ----------------------------------------------------------------------


def _progress(imp: PlacementImport) -> Progress:
    return Progress(imp.id, imp.state, imp.done_rows, imp.total_rows, imp.placed, imp.adjusted,
                    imp.unchanged)


def get(import_id: int, agency_id: int | None = None) -> PlacementImport:
    """The import (within this agency, when one is named)."""
    imp = db.session.get(PlacementImport, import_id)
    if imp is None or (agency_id is not None and imp.agency_id != agency_id):
        raise NotFound(f"no placement import {import_id}")
    return imp


def progress(import_id: int, agency_id: int | None = None) -> Progress:
    """Rows done of rows in the file, and the state (for a progress bar)."""
    with reading("placements.progress"):
        return _progress(get(import_id, agency_id))


def report_rows(import_id: int, agency_id: int | None = None) -> list[list]:
    """The report: for a rejected file each problem (line, field, why); otherwise each line with
    its outcome and the account's agency reference."""
    imp = get(import_id, agency_id)
    if imp.state == ImportState.REJECTED:
        return [["line", "field", "problem"], *imp.problems]
    found = db.session.execute(
        select(PlacementLine.line, PlacementLine.outcome, Account.reference,
               PlacementLine.adjustment_minor, Account.currency)
        .join(Account, Account.id == PlacementLine.account_id)
        .where(PlacementLine.import_id == imp.id).order_by(PlacementLine.line))
    return [["line", "outcome", "account_reference", "adjustment", "currency"],
            *([line, outcome, ref, "" if adj is None else _major(adj, cur), cur]
              for line, outcome, ref, adj, cur in found)]


def _major(minor: int, currency: str) -> str:
    """Minor units as the file wrote them: a decimal string in the major unit."""
    return str(Decimal(minor).scaleb(-minor_digits(currency)))


def report_csv(import_id: int, agency_id: int | None = None) -> str:
    """The report as CSV safe to open in a spreadsheet (csvsafe)."""
    with reading("placements.report_csv"):
        out = io.StringIO()
        csvsafe.writer(out).writerows(report_rows(import_id, agency_id))
        return out.getvalue()


def undo_blockers(imp: PlacementImport) -> list[str]:
    """Why the import cannot be undone (empty: it can). The import's own first letters are part
    of the placement, not something that happened since: they never block it."""
    if imp.state != ImportState.DONE:
        return [_("Only a finished import can be undone (this one is %(state)s).",
                  state=imp.state)]
    accounts = select(PlacementLine.account_id).where(PlacementLine.import_id == imp.id)
    acted = select(Account.reference, CaseEvent.kind).join(
        CaseEvent, CaseEvent.account_id == Account.id).where(
        Account.id.in_(accounts),
        func.starts_with(CaseEvent.kind, "payment.") | func.starts_with(CaseEvent.kind, "plan.")
        | func.starts_with(CaseEvent.kind, "dispute."))
    contacted = select(Account.reference, literal(EventKind.ATTEMPT_RECORDED.value)).join(
        ContactAttempt, ContactAttempt.account_id == Account.id).where(
        Account.id.in_(accounts), ContactAttempt.reported_by.not_in(FIRST_LETTERS))
    found = db.session.execute(
        union(acted, contacted).order_by("reference").limit(20)).all()
    return [_("%(account)s: %(what)s", account=ref, what=kind) for ref, kind in found]


@operation
def undo(import_id: int, actor: Actor, agency_id: int | None = None) -> PlacementImport:
    """Undo a finished import while nothing has happened on its accounts: each account it placed
    is brought to zero by an adjustment and closed (`placement.undone`), each adjustment it made
    is reversed; nothing is deleted (the case record is append-only and chained)."""
    imp = db.session.scalar(select(PlacementImport).where(PlacementImport.id == import_id)
                            .with_for_update())
    if imp is None or (agency_id is not None and imp.agency_id != agency_id):
        raise NotFound(f"no placement import {import_id}")
    blockers = undo_blockers(imp)
    if blockers:
        raise Refused(_("This import cannot be undone: %(why)s",
                        why="; ".join(blockers)), status=409)
    now = datetime.now(UTC)
    placed = select(PlacementLine.account_id).where(
        PlacementLine.import_id == imp.id, PlacementLine.outcome == LineOutcome.PLACED)
    # First letters not yet handed over never go; the ones that went are said on each close.
    screen.withdraw_queued(placed, "placement.undone", now)
    wrote = set(db.session.scalars(select(ContactAttempt.account_id).where(
        ContactAttempt.account_id.in_(placed), ContactAttempt.reported_by.in_(FIRST_LETTERS),
        ContactAttempt.outcome != contact_ops.service.CANCELLED)))
    for line in db.session.scalars(select(PlacementLine).where(
            PlacementLine.import_id == imp.id).order_by(PlacementLine.line)):
        account = db.session.get(Account, line.account_id, with_for_update=True)
        if line.outcome == LineOutcome.ADJUSTED:
            ledger.post_adjustment(account, -line.adjustment_minor, "Placement undone",
                                   actor, now)
            ledger.settle_status(account, actor, now)
        elif line.outcome == LineOutcome.PLACED:
            owed = ledger.balance_of(account.id, account.currency).minor
            if owed:
                ledger.post_adjustment(account, -owed, "Placement undone", actor, now)
            ledger.close(account, actor, "placement.undone", placement_import=imp.id,
                         first_letter_sent=account.id in wrote)
            contact_ops.service.reconcile(account.borrower, actor, now)
    imp.state = ImportState.UNDONE
    imp.undone_at = now
    db.session.execute(delete(PlacementChunk).where(PlacementChunk.import_id == imp.id))
    return imp


def imports_of(agency_id: int | None, limit: int = 50) -> list[PlacementImport]:
    """An agency's imports, newest first (the console's list)."""
    with reading("placements.imports_of"):
        return list(db.session.scalars(
            select(PlacementImport).where(PlacementImport.agency_id == agency_id)
            .order_by(PlacementImport.id.desc()).limit(limit)))


__all__ = ["Check", "Progress", "check", "start", "run_chunk", "progress", "report_csv",
           "report_rows", "undo", "undo_blockers", "set_column_map", "column_map", "imports_of"]
