"""Every action leaves a hash-chained CaseEvent; `flask cases verify` finds any tampering."""

from __future__ import annotations

from sqlalchemy import select, text

from portal.cases.models import CaseEvent


def verify(app):
    return app.test_cli_runner().invoke(args=["cases", "verify"])


def test_verify_passes_on_an_untouched_record(app, db, demo, person):
    person.sign_in("DEMO-1001", "1985-04-12")
    person.sign_out()

    result = verify(app)

    assert result.exit_code == 0, result.output
    # 6 accounts (5 of Demo Collections, 1 of Harbor Recovery) + the borrower streams (only
    # DEMO-1001's has events: it signed in and out).
    assert "checked 7 chains, 0 broken" in result.output


def _tamper(db, sql):
    db.execute(text("ALTER TABLE case_event DISABLE TRIGGER case_event_append_only"))
    db.execute(text(sql))
    db.execute(text("ALTER TABLE case_event ENABLE TRIGGER case_event_append_only"))


def test_an_edited_event_is_found(app, db, demo):
    _tamper(db, "UPDATE case_event SET data = '{\"amount_minor\": 1}' "
                "WHERE id = (SELECT min(id) FROM case_event WHERE kind = 'ledger.posted')")

    result = verify(app)

    assert result.exit_code == 1
    assert "content changed after it was recorded" in result.output


def test_a_deleted_event_is_found_even_the_newest(app, db, demo):
    _tamper(db, "DELETE FROM case_event WHERE id = (SELECT max(id) FROM case_event)")

    result = verify(app)

    assert result.exit_code == 1
    assert "newest events missing" in result.output


def test_sign_in_events_carry_who_and_from_where(db, demo, person, client_address):
    person.sign_in("DEMO-1001", "1985-04-12")

    event = db.scalar(select(CaseEvent).where(CaseEvent.kind == "borrower.signed_in"))

    assert (event.actor_type, event.source) == ("borrower", client_address)
    assert event.stream == f"borrower:{event.borrower_id}"
    assert len(event.hash) == 64 and event.prev_hash != event.hash
