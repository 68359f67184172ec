"""Previewed placement files kept until staff confirm them: one transaction each, tenancy-bound."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select

from portal.accounts.models import Creditor
from portal.crypto import cipher
from portal.extensions import db
from portal.identity.models import StaffUser
from portal.intake.models import PlacementUpload
from portal.operations import NotFound, operation

#: How long a previewed file waits for its confirmation (then: upload it again).
KEPT_FOR = timedelta(hours=1)


@dataclass(frozen=True)
class Staged:
    """A previewed file, opened: whose creditor it is for, and its bytes."""

    token: str
    creditor: Creditor
    filename: str
    data: bytes


def creditors_of(agency_id: int) -> list[Creditor]:
    """The creditors that placed with the agency: the only ones its staff may import for."""
    return list(db.session.scalars(
        select(Creditor).where(Creditor.agency_id == agency_id).order_by(Creditor.name)))


def creditor_of(agency_id: int, creditor_id: int | None) -> Creditor | None:
    """One of the agency's creditors, or None (another agency's is as unknown as none)."""
    if creditor_id is None:
        return None
    return db.session.scalar(select(Creditor).where(
        Creditor.id == creditor_id, Creditor.agency_id == agency_id))


def _purpose(token: str) -> str:
    return f"placement-upload:{token}"


@operation
def stage(staff: StaffUser, creditor: Creditor, filename: str, data: bytes) -> str:
    """Keep a file that passed its preview until it is confirmed; returns its token. Files
    older than KEPT_FOR are dropped on the way (an abandoned preview keeps no personal data)."""
    if creditor.agency_id != staff.agency_id:
        raise NotFound()
    db.session.execute(delete(PlacementUpload).where(
        PlacementUpload.created_at < datetime.now(UTC) - KEPT_FOR))
    token = secrets.token_hex(32)
    db.session.add(PlacementUpload(
        token=token, agency_id=staff.agency_id, creditor_id=creditor.id, staff_id=staff.id,
        filename=filename[:200], size=len(data),
        sealed=cipher().encrypt_bytes(data, _purpose(token))))
    db.session.flush()
    return token


def staged(agency_id: int, token: str) -> Staged:
    """The agency's previewed file by its token; NotFound when unknown, expired or another's."""
    upload = db.session.scalar(select(PlacementUpload).where(
        PlacementUpload.token == token, PlacementUpload.agency_id == agency_id,
        PlacementUpload.created_at >= datetime.now(UTC) - KEPT_FOR))
    creditor = creditor_of(agency_id, upload.creditor_id) if upload else None
    if upload is None or creditor is None:
        raise NotFound()
    return Staged(token, creditor, upload.filename,
                  cipher().decrypt_bytes(upload.sealed, _purpose(token)))


@operation
def discard(agency_id: int, token: str) -> None:
    """Forget a previewed file (it was imported, or replaced)."""
    db.session.execute(delete(PlacementUpload).where(
        PlacementUpload.token == token, PlacementUpload.agency_id == agency_id))
