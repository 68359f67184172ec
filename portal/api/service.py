"""What the partner API does: find the key, find accounts only within the key's agency, decide,
record attempts, and issue or revoke keys. No Flask request here, so the CLI can use it too."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.accounts.models import Account, Borrower, ContactKind, Creditor
from portal.api import schemas
from portal.api.models import Agency, ApiKey, Partner
from portal.api.problems import AccountNotFound, ApiProblem
from portal.cases.service import Actor
from portal.contact import bulk
from portal.contact import operations as contact_operations
from portal.contact import service as contact
from portal.contact.rulebook import Purpose
from portal.contact.rules import NoRulePack
from portal.crypto import lookup_digest
from portal.extensions import db
from portal.identity.models import Role, StaffUser
from portal.operations import Refused, operation

#: Rows decided together in a bulk request: their accounts are loaded with one query.
BATCH = 500
#: Decisions a bulk request keeps for its next batches, at most.
MEMO_LIMIT = 100_000
MAX_KEY_LENGTH = 200


@dataclass(frozen=True)
class Caller:
    """The partner behind a presented key, as far as the API needs to know it."""

    key_id: int
    public_id: str
    partner_id: int
    agency_id: int
    revoked: bool
    #: A lender user's key: their remittances and direct payments, nothing of the agency's.
    lender_user_id: int | None = None

    def actor(self, source: str | None) -> Actor:
        return Actor("partner", f"key:{self.public_id}", source)


def key_digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def find_key(presented: str) -> Caller | None:
    """The key with this text (compared by digest), revoked or not; None if there is none."""
    if not presented or len(presented) > MAX_KEY_LENGTH:
        return None
    row = db.session.execute(
        select(ApiKey.id, ApiKey.public_id, ApiKey.revoked_at, Partner.id, Partner.agency_id,
               Partner.lender_user_id)
        .join(Partner, ApiKey.partner_id == Partner.id)
        .where(ApiKey.digest == key_digest(presented))
    ).one_or_none()
    if row is None:
        return None
    key_id, public_id, revoked_at, partner_id, agency_id, lender_user_id = row
    return Caller(key_id, public_id, partner_id, agency_id, revoked_at is not None,
                  lender_user_id)


# --- accounts, scoped to the agency --------------------------------------------------------------


def _accounts_query(agency_id: int):
    return (
        select(Account)
        .join(Creditor, Account.creditor_id == Creditor.id)
        .where(Creditor.agency_id == agency_id)
    )


def account_of(agency_id: int, reference: str) -> Account:
    account = db.session.scalar(_accounts_query(agency_id).where(Account.reference == reference))
    if account is None:
        raise AccountNotFound(reference)
    return account


def accounts_of(agency_id: int, references: Iterable[str]) -> dict[str, Account]:
    """Many accounts in one query, with what a decision reads about their borrowers."""
    wanted = sorted(set(references))
    if not wanted:
        return {}
    found = db.session.scalars(
        _accounts_query(agency_id)
        .where(Account.reference.in_(wanted))
        .options(selectinload(Account.borrower).selectinload(Borrower.contact_points))
    )
    return {a.reference: a for a in found}


def account_ids_of(agency_id: int, references: Iterable[str]) -> dict[str, int]:
    """Many accounts' ids in one query, by reference, within the agency."""
    wanted = sorted(set(references))
    if not wanted:
        return {}
    return dict(db.session.execute(
        _accounts_query(agency_id).with_only_columns(Account.reference, Account.id)
        .where(Account.reference.in_(wanted))
    ).all())


def account_by_either_id(agency_id: int, account_ref: str,
                         creditor_code: str | None = None) -> Account:
    """The agency's account by its reference, else by the creditor's own id among the agency's
    creditors (only that creditor's with `creditor_code`); two creditors using that id: 409."""
    if creditor_code is None:
        found = db.session.scalar(_accounts_query(agency_id)
                                  .where(Account.reference == account_ref))
        if found is not None:
            return found
    digest = lookup_digest(account_ref, "account.original_account_number")
    query = (_accounts_query(agency_id).where(Account.original_account_number_digest == digest)
             .order_by(Creditor.code, Account.reference))
    if creditor_code is not None:
        query = query.where(Creditor.code == creditor_code.strip().upper())
    matches = list(db.session.scalars(query.limit(20)))
    if not matches:
        raise AccountNotFound(account_ref)
    if len(matches) > 1:
        raise ApiProblem(
            "ambiguous_account",
            f"{len(matches)} accounts of this agency's creditors have the id {account_ref!r}: "
            "ask again with ?creditor=CODE, or by the agency's reference.",
            extensions={"matches": [{"account_ref": a.reference, "creditor": a.creditor.code}
                                    for a in matches]})
    return matches[0]


def account_view(agency_id: int, reference: str,
                 creditor_code: str | None = None) -> schemas.Account:
    account = account_by_either_id(agency_id, reference, creditor_code)
    balance = account.balance
    holds = contact.live_holds(account.borrower_id, account.id)
    data = contact.preferences_of(account.borrower_id)
    points = {p.id: p for p in account.borrower.contact_points}
    return schemas.Account(
        account_ref=account.reference,
        status=account.status,
        currency=account.currency,
        balance=schemas.Balance(minor=balance.minor, currency=balance.currency,
                                formatted=format(balance.decimal, "f")),
        holds=[schemas.Hold(rule=h.rule, since=h.started_at, until=h.until,
                            channels=h.channels) for h in holds],
        preferences=schemas.Preferences(
            language=data.get("language") or account.borrower.preferred_language,
            opted_out_channels=list(data.get("opted_out_channels", [])),
            opted_out_destinations=[
                points[i].value for i in data.get("opted_out_points", [])
                if i in points and points[i].kind != ContactKind.ADDRESS
            ],
            inconvenient=[schemas.TimeWindow(start=w["start"], end=w["end"],
                                             channels=w.get("channels") or None)
                          for w in data.get("inconvenient", [])],
            workplace_prohibited=bool(data.get("workplace_prohibited")),
        ),
    )


# --- decisions -----------------------------------------------------------------------------------


def no_rule_pack(refusal: NoRulePack) -> ApiProblem:
    """The precise refusal for an instant no rule pack covers (never a 500)."""
    since = (f" The earliest rules for {refusal.jurisdiction} apply from "
             f"{refusal.earliest.isoformat()}." if refusal.earliest else "")
    return ApiProblem("no_rule_pack", f"No contact rules of {refusal.jurisdiction} were in force "
                      f"at {refusal.at.isoformat()}, so no decision can be made.{since}")


def decide(agency_id: int, request: schemas.DecisionRequest, now: datetime) -> schemas.Decision:
    account = account_of(agency_id, request.account_ref)
    at = request.at or now
    try:
        decision = contact.decide(account, request.channel, request.destination, at,
                                  _purpose(request))
    except NoRulePack as refusal:
        raise no_rule_pack(refusal) from None
    return schemas.Decision.of(decision, at)


def _purpose(request: schemas.DecisionRequest) -> Purpose | None:
    """The purpose the rules weigh: None for collection (what every rule stops, as asked
    without one), so the bulk path's shortcuts still serve it."""
    return None if request.purpose == Purpose.COLLECTION else Purpose(request.purpose)


def decide_many(agency_id: int, items: Iterable[tuple[object, object]],
                now: datetime) -> Iterator[tuple[object, schemas.Decision | Exception]]:
    """Decide a stream of (tag, request or error) in order, BATCH at a time, yielding (tag,
    decision or error). An error passes through; an account outside the agency is
    AccountNotFound, exactly as for one decision. Memory stays flat however long the stream."""
    items = iter(items)
    memo = bulk.Memo()  # what one batch worked out serves the next ones too
    while batch := list(islice(items, BATCH)):
        wanted = [r.account_ref for _, r in batch if isinstance(r, schemas.DecisionRequest)]
        ids = account_ids_of(agency_id, wanted)
        asks = [bulk.Ask(ids[r.account_ref], r.channel, r.destination, r.at or now,
                         _purpose(r))
                for _, r in batch
                if isinstance(r, schemas.DecisionRequest) and r.account_ref in ids]
        decisions = iter(bulk.decide_many(asks, memo))
        answered: dict[tuple, schemas.Decision] = {}
        for tag, request in batch:
            if not isinstance(request, schemas.DecisionRequest):
                yield tag, request
                continue
            if request.account_ref not in ids:
                yield tag, AccountNotFound(request.account_ref)
                continue
            at = request.at or now
            decision = next(decisions)
            if isinstance(decision, NoRulePack):
                yield tag, no_rule_pack(decision)
                continue
            if (decision, at) not in answered:
                answered[(decision, at)] = schemas.Decision.of(decision, at)
            yield tag, answered[(decision, at)]
        # A stream of millions of rows must not keep every account it saw.
        db.session.expunge_all()
        if memo.size() > MEMO_LIMIT:
            memo = bulk.Memo()


def record_attempt(caller: Caller, request: schemas.AttemptRequest, now: datetime,
                   source: str | None) -> schemas.Attempt:
    account = account_of(caller.agency_id, request.account_ref)
    try:
        attempt = contact_operations.record_attempt(
            account, request.channel, request.destination, request.at or now, request.outcome,
            caller.actor(source), Purpose(request.purpose), direction=request.direction,
            with_consent=request.with_consent,
        )
    except NoRulePack as refusal:
        raise no_rule_pack(refusal) from None
    return schemas.Attempt(id=attempt.id, violation=attempt.violation,
                           rules=list(attempt.violated_rules))


# --- agencies, partners and keys -----------------------------------------------------------------


def _agency(name: str) -> Agency:
    agency = db.session.scalar(select(Agency).where(Agency.name == name))
    if agency is None:
        agency = Agency(name=name)
        db.session.add(agency)
        db.session.flush()
    return agency


def _partner(agency: Agency, name: str) -> Partner:
    partner = db.session.scalar(
        select(Partner).where(Partner.agency_id == agency.id, Partner.name == name))
    if partner is None:
        partner = Partner(agency_id=agency.id, name=name)
        db.session.add(partner)
        db.session.flush()
    return partner


def _add_key(partner: Partner, public_id: str, key: str) -> ApiKey:
    row = ApiKey(partner_id=partner.id, public_id=public_id, digest=key_digest(key),
                 created_at=datetime.now(UTC))
    db.session.add(row)
    db.session.flush()
    return row


def ensure_partner_key(agency_name: str, partner_name: str, public_id: str, key: str,
                       creditors: Iterable[Creditor]) -> None:
    """The agency, its creditors, its partner and this exact key, created if missing (for the
    demo seed: runs inside the caller's transaction). A revoked key stays revoked."""
    agency = _agency(agency_name)
    for creditor in creditors:
        if creditor.agency_id is None:
            creditor.agency_id = agency.id
    partner = _partner(agency, partner_name)
    if db.session.scalar(select(ApiKey.id).where(ApiKey.digest == key_digest(key))) is None:
        _add_key(partner, public_id, key)


@operation
def issue_key(agency_name: str, partner_name: str) -> tuple[str, str]:
    """A new key for the partner (created with its agency if new): (public id, key text).
    The key text is shown once; only its digest is kept."""
    partner = _partner(_agency(agency_name), partner_name)
    public_id = "k" + secrets.token_hex(5)
    key = f"{public_id}.{secrets.token_urlsafe(32)}"
    _add_key(partner, public_id, key)
    return public_id, key


@operation
def issue_lender_key(lender_user_id: int, key: str | None = None,
                     public_id: str | None = None) -> tuple[str, str]:
    """A key for a lender user's own system (a partner of their agency named after them): it
    reads their remittances and reports direct payments, and is refused everything else. A
    given key (the demo's) is kept as it is if it exists already."""
    user = db.session.get(StaffUser, lender_user_id)
    if user is None or user.role != Role.LENDER:
        raise Refused("only a lender user has a lender's key")
    name = f"Lender: {user.email}"
    partner = db.session.scalar(select(Partner).where(Partner.agency_id == user.agency_id,
                                                      Partner.name == name))
    if partner is None:
        partner = Partner(agency_id=user.agency_id, name=name, lender_user_id=user.id)
        db.session.add(partner)
        db.session.flush()
    public_id = public_id or "k" + secrets.token_hex(5)
    key = key or f"{public_id}.{secrets.token_urlsafe(32)}"
    if db.session.scalar(select(ApiKey.id).where(ApiKey.digest == key_digest(key))) is None:
        _add_key(partner, public_id, key)
    return public_id, key


@operation
def revoke_key(public_id: str) -> None:
    row = db.session.scalar(select(ApiKey).where(ApiKey.public_id == public_id))
    if row is None:
        raise Refused(f"no API key {public_id!r}")
    if row.revoked_at is None:
        row.revoked_at = datetime.now(UTC)


@operation
def attach_creditor(code: str, agency_name: str) -> None:
    """Let the agency's partners see this creditor's accounts."""
    creditor = db.session.scalar(select(Creditor).where(Creditor.code == code))
    if creditor is None:
        raise Refused(f"no creditor {code!r}")
    creditor.agency_id = _agency(agency_name).id
