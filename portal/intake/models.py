"""A placement file between its preview and its confirmation, kept encrypted (PII inside)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, LargeBinary, String, func
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db


class PlacementUpload(db.Model):
    """A file staff uploaded and previewed: what "Confirm" imports, so it is never sent twice.
    Its bytes are sealed with the field keys, bound to its random token; kept an hour at most."""

    __tablename__ = "placement_upload"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The random name the confirm form carries (never the row id: it cannot be guessed).
    token: Mapped[str] = mapped_column(String(64), unique=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    creditor_id: Mapped[int] = mapped_column(ForeignKey("creditor.id"))
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"))
    filename: Mapped[str] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(Integer)
    #: The file's bytes, AES-GCM sealed (`crypto.FieldCipher.encrypt_bytes`).
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now(), index=True)
