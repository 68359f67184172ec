"""Notices by email on the borrower's contact preferences page (E-SIGN consent, 12 CFR
1006.42(b)): the disclosures before a deliberate tick, the consent through the page reaching the
next first letter, and withdrawing it, each refused plainly when it does not apply."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from portal.accounts.models import Borrower, Creditor
from portal.accounts.placement import place
from portal.cases.models import CaseEvent
from portal.notices import service as notices
from portal.notices.models import DeliveryConsent
from tests.test_notices import ACTOR, DAYTIME, _captured, _debt

PAGE = "/contact-preferences/"
AGREE = "/contact-preferences/notices-by-email"
STOP = "/contact-preferences/notices-by-email/withdraw"


def _section(page) -> str:
    section = page.soup.find("section", attrs={"aria-labelledby": "email-notices-h"})
    return " ".join(section.get_text(" ").split())


def _consents(db) -> list[DeliveryConsent]:
    return db.scalars(select(DeliveryConsent).order_by(DeliveryConsent.id))


def _notices(db, channel: str) -> list:
    """Captured first letters on `channel` (the sign-in code's email aside)."""
    return [m for m in _captured(db, channel) if m.kind == "validation_notice"]


def _first_letter_now(db, reference: str, at: datetime) -> None:
    """A new account of the demo borrower placed, and its first letter queued at `at`."""
    def run():
        session = db.database.session
        borrower = session.scalar(select(Borrower).where(Borrower.reference == "DEMO-1001"))
        creditor = session.scalar(select(Creditor).where(Creditor.code == "NWB"))
        notices.send_first_letter(place(creditor, borrower, _debt(reference), ACTOR), ACTOR, at)

    db.run(run)


def test_the_page_discloses_what_email_delivery_means_before_the_tick(person, demo):
    person.sign_in("DEMO-1001", "1985-04-12")
    page = person.get(PAGE)
    text = _section(page)
    # E-SIGN's disclosures (15 U.S.C. 7001(c)(1)): paper, withdrawal and its effect, scope,
    # the address and how to update it, a paper copy free of charge, what is needed to read.
    for words in ("we still send each notice by post", "paper copy of any notice",
                  "free of charge", "withdraw on this page at any time",
                  "notices then come by post only", "every notice we send you about your "
                  "accounts with us", "we will write to a***@e***.com", "contact us to update "
                  "it", "a phone or computer that receives email and opens web pages"):
        assert words in text, words
    box = page.form(AGREE).find("input", {"type": "checkbox"})
    assert not box.has_attr("checked")  # never agreed by default
    label = page.soup.find("label", attrs={"for": box["id"]}).get_text()
    assert "agree to get notices by email at a***@e***.com" in label


def test_no_tick_no_consent(person, demo, db):
    person.sign_in("DEMO-1001", "1985-04-12")
    page = person.submit(person.get(PAGE), action=AGREE)
    assert page.status == 422
    assert "Tick the box to agree" in _section(page)
    assert _consents(db) == []


def test_consent_through_the_page_sends_the_next_notice_by_email_until_withdrawn(
        person, demo, db):
    person.sign_in("DEMO-1001", "1985-04-12")
    page = person.submit(person.get(PAGE), {"notices-agree": "y"}, action=AGREE)
    assert page.status == 200
    assert "We will send notices by email as well as by post" in page.text
    assert "You get our notices by email at a***@e***.com as well as by post, since" in \
        _section(page)
    (consent,) = _consents(db)
    assert consent.withdrawn_at is None and consent.source == "borrower"
    event = db.scalar(select(CaseEvent).where(CaseEvent.id == consent.given_by_event_id))
    assert (event.kind, event.actor_type) == ("notices.edelivery_consented", "borrower")
    assert "alex@" not in str(event.data)  # the record names the contact point, not the address

    _first_letter_now(db, "NWB-8101", DAYTIME)
    (email,) = _notices(db, "email")
    assert (email.kind, email.destination) == ("validation_notice", "alex@example.com")

    page = person.submit(page, action=STOP)
    assert "Notices come by post only from now on." in page.text
    assert "Agree to notices by email" in _section(page)  # offered again
    (consent,) = _consents(db)
    assert consent.withdrawn_at is not None
    _first_letter_now(db, "NWB-8102", DAYTIME)
    assert len(_notices(db, "email")) == 1  # the letter only, this time
    assert len(_notices(db, "letter")) == 2


def test_withdrawing_what_is_not_in_force_is_refused_and_changes_nothing(person, demo, db):
    person.sign_in("DEMO-1001", "1985-04-12")
    page = person.get(PAGE)
    token = page.soup.find("input", {"name": "notices-stop-csrf_token"})
    assert token is None  # nothing to withdraw: no such button
    agree = page.form(AGREE).find("input", {"name": "notices-csrf_token"})["value"]
    response = person.client.post(STOP, data={"notices-stop-csrf_token": agree})
    assert response.status_code == 409
    assert "You do not get notices by email." in response.get_data(as_text=True)
    assert db.scalar(select(CaseEvent.id).where(
        CaseEvent.kind == "notices.edelivery_withdrawn")) is None


def test_consenting_twice_is_refused_plainly(person, demo, db):
    person.sign_in("DEMO-1001", "1985-04-12")
    page = person.get(PAGE)
    token = page.form(AGREE).find("input", {"name": "notices-csrf_token"})["value"]
    person.submit(page, {"notices-agree": "y"}, action=AGREE)
    again = person.client.post(AGREE, data={"notices-csrf_token": token, "notices-agree": "y"})
    assert again.status_code == 409
    assert "You already get notices by email." in again.get_data(as_text=True)
    assert len(_consents(db)) == 1


def test_without_an_email_we_may_write_to_there_is_nothing_to_agree_to(person, demo, db):
    person.sign_in("DEMO-1001", "1985-04-12")
    page = person.get(PAGE)
    token = page.form(AGREE).find("input", {"name": "notices-csrf_token"})["value"]
    person.submit(page, {"blocked_channels": "email"},
                  action="/contact-preferences/")
    page = person.get(PAGE)
    assert "We have no email address for you that we may write to" in _section(page)
    assert page.soup.find("form", action=AGREE) is None
    response = person.client.post(AGREE, data={"notices-csrf_token": token, "notices-agree": "y"})
    assert response.status_code == 422
    assert "We have no email address for you that we may write to." in \
        response.get_data(as_text=True)
    assert _consents(db) == []
