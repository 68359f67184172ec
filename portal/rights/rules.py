"""When a correction request must be answered, by the borrower's jurisdiction (pure)."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True)
class Deadline:
    law: str
    citation: str
    days: int | None = None
    months: int | None = None


#: By country (and US state where it differs). UK GDPR art. 12(3): without undue delay and within
#: one month of receipt, for a rectification request under art. 16. CCPA (Cal. Civ. Code
#: 1798.106 correction; 1798.130(a)(2)): 45 calendar days. PIPL arts. 44-46 give the right, and
#: art. 50 asks for a way to apply and reasons for a refusal, with no number of days: the 30 days
#: are the recommendation of GB/T 35273-2020 s. 8.7, a recommended national standard (GB/T), not
#: law. (The key stays "pipl": stored requests hold it.) Elsewhere in the US no statute applies:
#: the agency keeps CCPA's 45 days as its policy.
DEADLINES = {
    "GB": Deadline("uk-gdpr", "UK GDPR art. 16, art. 12(3)", months=1),
    "US-CA": Deadline("ccpa", "Cal. Civ. Code 1798.106, 1798.130(a)(2)", days=45),
    "US": Deadline("policy", "Agency policy (following the CCPA's 45 days)", days=45),
    "CN": Deadline("pipl", "PIPL arts. 44-46, 50 (no number of days); 30 days recommended by "
                        "GB/T 35273-2020 s. 8.7, a national standard, not law", days=30),
}


def deadline_for(country: str, region: str | None) -> Deadline:
    return DEADLINES.get(f"{country}-{region}") or DEADLINES.get(country) or DEADLINES["US"]


def due_on(received: date, deadline: Deadline) -> date:
    """The last day to answer: N calendar days after receipt, or the same day M months later
    (the month's last day when it has no such day)."""
    if deadline.days is not None:
        return received + timedelta(days=deadline.days)
    month = received.month - 1 + deadline.months
    year, month = received.year + month // 12, month % 12 + 1
    return date(year, month, min(received.day, calendar.monthrange(year, month)[1]))
