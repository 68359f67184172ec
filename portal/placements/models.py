"""A placement import as a row of its own (state and cursor, so a killed worker resumes), its
staged rows (encrypted, deleted when done), what each line did, and each creditor's column map."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, DateTime, ForeignKey, Integer, String, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from portal.crypto import Encrypted
from portal.extensions import db


class ImportState(StrEnum):
    #: Being read and checked (inside `start`'s transaction).
    VALIDATING = "validating"
    #: A bad row: nothing placed; `problems` is the report.
    REJECTED = "rejected"
    #: Checked and staged, waiting for a worker (or the CLI) to place it.
    READY = "ready"
    #: Some chunks placed (each deleted as it is placed); the staged ones are what is left.
    IMPORTING = "importing"
    DONE = "done"
    #: Undone as a whole (its accounts closed as `placement.undone`).
    UNDONE = "undone"


class PlacementImport(db.Model):
    """One placement file of one creditor, from upload to done (or rejected, or undone)."""

    __tablename__ = "placement_import"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"), index=True)
    creditor_id: Mapped[int] = mapped_column(ForeignKey("creditor.id"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    #: SHA-256 of the file as uploaded (says "the same file" without keeping it).
    sha256: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(20), default=ImportState.VALIDATING)
    total_rows: Mapped[int] = mapped_column(Integer, default=0)
    done_rows: Mapped[int] = mapped_column(Integer, default=0)
    chunk_size: Mapped[int] = mapped_column(Integer)
    #: Chunks placed so far (of `chunks` staged; workers may place them in any order).
    next_chunk: Mapped[int] = mapped_column(Integer, default=0)
    chunks: Mapped[int] = mapped_column(Integer, default=0)
    placed: Mapped[int] = mapped_column(Integer, default=0)
    adjusted: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    #: The rejection report: [[line, field, why], ...] (never a value from the file).
    problems: Mapped[list] = mapped_column(JSONB, default=list)
    actor_type: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    undone_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PlacementChunk(db.Model):
    """Checked rows waiting to be placed, one chunk per row: personal data, so encrypted (bound
    to this row), and deleted once the import is done or undone."""

    __tablename__ = "placement_chunk"
    __table_args__ = (UniqueConstraint("import_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("placement_import.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    #: JSON list of `rows.Placement.as_dict()`.
    rows: Mapped[str] = mapped_column(Encrypted("placement_chunk.rows"))


class LineOutcome(StrEnum):
    PLACED = "placed"
    ADJUSTED = "adjusted"
    UNCHANGED = "unchanged"


class PlacementLine(db.Model):
    """What one line of an import did to which account (the report, and what undo reverses)."""

    __tablename__ = "placement_line"
    __table_args__ = (UniqueConstraint("import_id", "line"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("placement_import.id"))
    line: Mapped[int] = mapped_column(Integer)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    outcome: Mapped[str] = mapped_column(String(20))
    #: The adjustment posted (minor units), for an adjusted line.
    adjustment_minor: Mapped[int | None] = mapped_column(BigInteger)


class PlacementColumnMap(db.Model):
    """A creditor's own header, mapped to ours: {their column: our field, or "" to ignore}."""

    __tablename__ = "placement_column_map"

    creditor_id: Mapped[int] = mapped_column(ForeignKey("creditor.id"), primary_key=True)
    columns: Mapped[dict] = mapped_column(JSONB)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())
