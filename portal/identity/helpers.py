"""Someone helping a borrower: the access a borrower grants, the helper's sign-in codes, and the
signed-in helper, who stands in the borrower's place only as far as the grant reaches."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Date, DateTime, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.accounts.models import Account, Borrower
from portal.crypto import Encrypted
from portal.extensions import db


class HelperKind(StrEnum):
    #: A debt adviser (in the UK one may start breathing space).
    ADVISER = "adviser"
    #: An attorney: their access starts the attorney hold.
    ATTORNEY = "attorney"
    #: A family member or friend.
    FAMILY = "family"


class HelperAccess(StrEnum):
    #: Reads what the borrower reads, changes nothing.
    SEE = "see"
    #: Reads, and pays, proposes plans and disputes for the borrower.
    ACT = "act"


class HelperGrant(db.Model):
    """A borrower's permission for one helper (known by email) to see or act, until a date."""

    __tablename__ = "helper_grant"

    id: Mapped[int] = mapped_column(primary_key=True)
    borrower_id: Mapped[int] = mapped_column(ForeignKey("borrower.id"), index=True)
    #: One account, or None for all of the borrower's accounts.
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    name: Mapped[str] = mapped_column(Encrypted("helper_grant.name"))
    email: Mapped[str] = mapped_column(Encrypted("helper_grant.email"))
    #: Keyed hash of the lower-cased email: the helper's sign-in finds their grants by it.
    email_digest: Mapped[bytes] = mapped_column(LargeBinary(32), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    access: Mapped[str] = mapped_column(String(10))
    #: The last day the access lasts (in UTC): the borrower's choice.
    until: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    borrower: Mapped[Borrower] = relationship()
    account: Mapped[Account | None] = relationship()

    def live(self, today: date) -> bool:
        return self.revoked_at is None and today <= self.until


class HelperCode(db.Model):
    """A helper's six-digit sign-in code, sent to their email: hashed, 10 minutes, 5 tries."""

    __tablename__ = "helper_code"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    email_digest: Mapped[bytes] = mapped_column(LargeBinary(32), index=True)
    code_digest: Mapped[bytes] = mapped_column(LargeBinary(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    consumed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Helping:
    """The signed-in helper: reads as the borrower they help (so the borrower's pages serve
    them), with the grant saying which accounts and whether they may act."""

    is_borrower = True
    is_staff = False
    is_helper = True
    is_authenticated = True
    is_active = True
    is_anonymous = False

    def __init__(self, grant: HelperGrant):
        self.grant = grant
        self._borrower = grant.borrower

    def __getattr__(self, name):
        return getattr(self._borrower, name)

    def get_id(self) -> str:
        return f"h:{self.grant.id}"

    @property
    def may_act(self) -> bool:
        return self.grant.access == HelperAccess.ACT

    def sees(self, account: Account) -> bool:
        return self.grant.account_id in (None, account.id)
