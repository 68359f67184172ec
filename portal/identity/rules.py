"""Pure sign-in rules: masking, code life, lockout. No Flask, no database."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta

CODE_LIFETIME = timedelta(minutes=10)
CODE_MAX_TRIES = 5
CODES_PER_HOUR = 5
LOCKOUT_THRESHOLD = 5
LOCKOUT_WINDOW = timedelta(minutes=15)
IDLE_TIMEOUT = timedelta(minutes=15)
IDLE_WARNING = timedelta(minutes=13)
CODE_PATTERN = re.compile(r"^\d{6}$")


def normalise_reference(text: str) -> str:
    """References are typed on phones: ignore case, spaces and stray dashes' surroundings."""
    return re.sub(r"\s+", "", text or "").upper()


def normalise_code(text: str) -> str:
    """Full-width digits (from a Chinese or Japanese keyboard) count as the digits they show."""
    return re.sub(r"[\s-]", "", unicodedata.normalize("NFKC", text or ""))


def mask_email(address: str) -> str:
    """a***@e***.com: enough to recognise, not enough to learn."""
    local, _, domain = address.partition("@")
    name, dot, tld = domain.rpartition(".")
    if not dot:
        name, tld = domain, ""
    return f"{local[:1]}***@{name[:1]}***{dot}{tld}"


def mask_phone(e164: str) -> str:
    """Only the last two digits show: +1 ••• ••• ••47."""
    digits = re.sub(r"\D", "", e164)
    return "•••• ••• " + digits[-2:] if len(digits) >= 4 else "••••"


def mask_tail(value: str, keep: int = 4) -> str:
    """An identifier with all but its last characters hidden: ••••1234."""
    return "••••" + value[-keep:] if value else ""


def lockout_until(failures: list[datetime], now: datetime) -> datetime | None:
    """Locked for LOCKOUT_WINDOW after the LOCKOUT_THRESHOLD-th failure inside the window."""
    recent = sorted(f for f in failures if now - f < LOCKOUT_WINDOW)
    if len(recent) < LOCKOUT_THRESHOLD:
        return None
    until = recent[-1] + LOCKOUT_WINDOW
    return until if until > now else None


def code_usable(*, created_at: datetime, attempts: int, consumed: bool, now: datetime) -> bool:
    return not consumed and attempts < CODE_MAX_TRIES and now < created_at + CODE_LIFETIME


def idle_expired(last_seen: datetime, now: datetime) -> bool:
    return now - last_seen >= IDLE_TIMEOUT
