"""Replaying a borrower's case events always gives the holds that were stored as it happened."""

from __future__ import annotations

import itertools
from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from portal.accounts.models import Borrower
from portal.accounts.placement import Address, Person, ensure_borrower
from portal.cases.kinds import EventKind
from portal.cases.service import Actor
from portal.contact import operations, service
from portal.contact.derive import derive
from portal.contact.models import ContactHold
from portal.operations import operation

STATEMENTS = [
    EventKind.CEASE_REQUESTED, EventKind.CEASE_WITHDRAWN,
    EventKind.ATTORNEY_REPORTED, EventKind.ATTORNEY_ENDED,
    EventKind.BANKRUPTCY_REPORTED, EventKind.BANKRUPTCY_ENDED,
    EventKind.PREFERENCES_CHANGED,
    EventKind.DECEASED_REPORTED, EventKind.CONSENT_GIVEN, EventKind.CONSENT_WITHDRAWN,
]
#: What each statement says, where it says something.
SAID = {
    "preferences.changed": {"preferences": {"opted_out_channels": ["sms"]}},
    "contact.consent_given": {"consent": 1, "channel": "call", "start": "07:00", "end": "08:00",
                              "days": None},
    "contact.consent_withdrawn": {"consent": 1},
}
numbers = itertools.count(1)


@operation
def tell(borrower_id: int, kind: EventKind) -> None:
    from portal.extensions import db

    borrower = db.session.get(Borrower, borrower_id)
    data = SAID.get(kind, {})
    operations._statement(borrower, kind, Actor("borrower", str(borrower_id)), data)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(STATEMENTS), min_size=1, max_size=8))
def test_stored_holds_equal_a_replay(db, sequence):
    def new_borrower():
        n = next(numbers)
        return ensure_borrower(Person(
            f"PROP-{n}", "Pat", "Doe", "Pat Doe", date(1980, 1, 1),
            Address("1 Main St", "Albany", "NY", "12207", "US"),
            phones=[("mobile", "+1 518 555 0100")],
        )).id

    borrower_id = db.run(new_borrower)
    for kind in sequence:
        db.run(tell, borrower_id, kind)

    def compare():
        session = db.database.session
        derived = derive(service._facts(borrower_id), "US")
        stored = session.scalars(select(ContactHold).where(ContactHold.borrower_id == borrower_id))
        return (
            sorted((h.key, h.rule, h.started_by, h.ended_by) for h in derived.holds),
            sorted((h.key, h.rule, h.started_by_event_id, h.ended_by_event_id) for h in stored),
            service.preferences_of(borrower_id) == derived.preferences,
        )

    derived, stored, same_preferences = db.run(compare)
    assert derived == stored
    assert same_preferences
