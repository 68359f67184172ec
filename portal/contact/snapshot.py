"""What the contact rules look at: a frozen picture of one account at one moment. Pure data."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time

#: Every channel a decision can be asked about.
CHANNELS = ("call", "sms", "email", "letter", "visit", "third_party")
#: Attempt outcomes a partner can report (the portal's own messages: sent, delivered or failed).
OUTCOMES = (
    "no_answer", "voicemail", "busy", "conversation", "wrong_number", "delivered", "bounced",
    "not_in_service", "sent", "failed",
)
#: Outcomes of a call that never connected to the dialed number (12 CFR 1006.14(b)(3)(ii)).
NOT_CONNECTED = frozenset({"busy", "not_in_service"})
#: Who started a contact: we did (outbound), or the borrower did (inbound).
DIRECTIONS = ("outbound", "inbound")
#: Channels that reach the borrower at a moment of the day (a letter does not ring at night).
TIMED_CHANNELS = frozenset({"call", "sms", "email", "visit", "third_party"})
#: Telephone communications (Massachusetts counts texts and recorded messages too).
TELEPHONE = frozenset({"call", "sms"})


@dataclass(frozen=True)
class ContactPointInfo:
    """One phone, email or address of the borrower, as the rules need it."""

    kind: str  # phone | email | address
    value: str  # E.164, lower-case email, or "" for an address
    label: str = "home"  # home | mobile | work | personal
    time_zones: tuple[str, ...] = ()
    opted_out: bool = False
    #: An email address known to be provided by the borrower's employer (1006.22(f)(3)).
    employer_provided: bool = False
    #: The borrower used that address with us, or consented to its use.
    employer_consented: bool = False


@dataclass(frozen=True)
class Hold:
    """A pause on contact that a rule keeps in force; `until` None means a person must lift it."""

    rule: str
    started: datetime
    until: datetime | None = None
    channels: frozenset[str] | None = None  # None: every channel
    destination: str | None = None  # only this number/address, where the hold is that narrow


@dataclass(frozen=True)
class Attempt:
    """A contact attempt that happened (reported by a dialer or the portal's own sending)."""

    channel: str
    destination: str | None
    at: datetime
    outcome: str
    #: outbound (we called) or inbound (the borrower called us).
    direction: str = "outbound"
    #: Made with the borrower's prior consent, given directly within the last 7 days
    #: (1006.14(b)(3)(i)).
    with_consent: bool = False


@dataclass(frozen=True)
class TimeWindow:
    """Times the borrower named as inconvenient, or agreed to, in their local time: [start, end),
    on some channels (None: all) and some weekdays (0 Monday .. 6 Sunday; None: every day)."""

    start: time
    end: time
    channels: frozenset[str] | None = None
    days: frozenset[int] | None = None


@dataclass(frozen=True)
class Preferences:
    opted_out_channels: frozenset[str] = frozenset()
    opted_out_destinations: frozenset[str] = frozenset()
    inconvenient: tuple[TimeWindow, ...] = ()
    workplace_prohibited: bool = False
    #: Hours the borrower directly agreed to, per channel (lifts quiet hours for that window
    #: only): the live consents of the record (contact/derive.py).
    consented_hours: tuple[TimeWindow, ...] = ()
    #: Consent (CN) to home visits / private channels.
    consented_visits: bool = False


@dataclass(frozen=True)
class Snapshot:
    """One account, everything the rules may consider, at one moment."""

    jurisdiction: str  # US | GB | CN
    region: str | None  # US state, for overlays (MA)
    contact_points: tuple[ContactPointInfo, ...]
    holds: tuple[Hold, ...] = ()
    preferences: Preferences = field(default_factory=Preferences)
    attempts: tuple[Attempt, ...] = ()
    validation_ends: date | None = None
    time_barred: bool = False
    #: Agency policy switches: rule id -> on/off (policy rules only; law cannot be switched off).
    policy: dict[str, bool] = field(default_factory=dict)

    def zones(self) -> tuple[str, ...]:
        """Every time zone the borrower may be in, from every contact point."""
        seen: list[str] = []
        for point in self.contact_points:
            for zone in point.time_zones:
                if zone not in seen:
                    seen.append(zone)
        return tuple(seen)

    def point(self, destination: str | None) -> ContactPointInfo | None:
        if not destination:
            return None
        return next((p for p in self.contact_points if p.value == destination), None)


def stored_preferences(data: dict, points_by_id: dict[int, str]) -> Preferences:
    """contact_preferences.data as the rules read it, in one place so both decision paths agree."""

    def window(w):
        return TimeWindow(time.fromisoformat(w["start"]), time.fromisoformat(w["end"]),
                          frozenset(w["channels"]) if w.get("channels") else None,
                          frozenset(w["days"]) if w.get("days") else None)

    return Preferences(
        opted_out_channels=frozenset(data.get("opted_out_channels", [])),
        opted_out_destinations=frozenset(
            points_by_id[i] for i in data.get("opted_out_points", []) if i in points_by_id
        ),
        inconvenient=tuple(window(w) for w in data.get("inconvenient", [])),
        workplace_prohibited=bool(data.get("workplace_prohibited")),
        consented_hours=tuple(window(w) for w in data.get("consented", [])),
    )
