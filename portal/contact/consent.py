"""Which consent windows a borrower may give: pure rules, so both forms and the tests agree."""

from __future__ import annotations

from datetime import time

#: The channels that ring or arrive at a moment of the day (a letter needs no consent).
CONSENT_CHANNELS = ("call", "sms", "email")
#: The weekdays a window may cover, by name (0 Monday .. 6 Sunday; None: every day).
DAY_SETS: dict[str, tuple[int, ...] | None] = {
    "every_day": None,
    "weekdays": (0, 1, 2, 3, 4),
    "weekends": (5, 6),
}


def window_problem(channel: str, start: time | None, end: time | None, days: str) -> str | None:
    """Why this window cannot be consented to (a code), or None: it can."""
    if channel not in CONSENT_CHANNELS:
        return "channel"
    if start is None or end is None:
        return "times"
    if start == end:
        return "empty"
    if days not in DAY_SETS:
        return "days"
    return None


def stored(channel: str, start: time, end: time, days: str) -> dict:
    """A valid window as the case event and the rules' preferences carry it."""
    chosen = DAY_SETS[days]
    return {"channel": channel, "start": start.strftime("%H:%M"), "end": end.strftime("%H:%M"),
            "days": list(chosen) if chosen is not None else None}
