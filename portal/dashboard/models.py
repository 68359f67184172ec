"""The dashboard's rollup table (written only by the database's triggers, tally_sql.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db


class DashboardTally(db.Model):
    """How many of one thing, and how much, happened for one agency in one quarter hour."""

    __tablename__ = "dashboard_tally"

    #: collected, plan_ended, dispute_opened, dispute_closed, dispute_open (those open now, by
    #: when they opened: +1, then -1 when closed), hold_started, hold_ended, attempt.
    metric: Mapped[str] = mapped_column(String(20), primary_key=True)
    agency_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: The quarter hour (UTC) it happened in.
    bucket: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    #: The creditor, for money; 0 for what is counted per agency only.
    creditor_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: What kind: the ledger entry's kind, the plan's end, the hold's rule, the channel...
    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger)
    #: Minor units collected; seconds of age of closed disputes; attempts that were violations.
    amount: Mapped[int] = mapped_column(BigInteger)
