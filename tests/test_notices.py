"""The first letter after a placement (issue 14): the validation notice queued as a letter with
its contact attempt, by email only with consent, its sent date and validation period, the same
notice on the borrower's account page; and the UK and China first letters."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import pypdf
import pytest
from bs4 import BeautifulSoup
from sqlalchemy import select

from portal.accounts.models import Account, Creditor
from portal.accounts.placement import Address, Debt, Person, ensure_borrower, place
from portal.accounts.validation import period_end
from portal.cases.models import CaseEvent
from portal.cases.service import Actor
from portal.contact.models import ContactAttempt
from portal.messaging import letters
from portal.messaging.channels import EXTENSION
from portal.messaging.models import CapturedMessage, OutgoingMessage
from portal.messaging.outgoing import send_due
from portal.money import Money
from portal.notices import service as notices
from portal.notices.models import DeliveryConsent
from portal.operations import Refused
from tests.fixtures.clock import next_utc

ACTOR = Actor.system("placements:test")


def _person(reference="NTC-1", language="en", country="US", emails=("sam@example.com",)):
    address = {"US": Address("9 Elm St", "Albany", "NY", "12207", "US"),
               "GB": Address("2 Mill Lane", "Leeds", None, "LS1 4AP", "GB"),
               "CN": Address("海淀区 1 号", "北京", "BJ", "100080", "CN")}[country]
    return Person(reference, "Sam", "Lee", "Sam Lee", date(1980, 2, 3), address,
                  phones=[], emails=list(emails), language=language)


def _debt(reference="NWB-9001", currency="USD", sent_at=None):
    def m(text):
        return Money.parse(text, currency)

    return Debt(reference, "Credit card", "4111222233334444", m("1000.00"), m("25.50"),
                m("15.00"), m("40.00"), itemization_date=date(2026, 3, 31),
                validation_notice_sent_at=sent_at)


#: A time of day every US zone finds convenient (1006.6(b)(1)): emails judge the hours.
DAYTIME = next_utc(18)


def _placed(db, person=None, debt=None, creditor="NWB", consent=False, at=None):
    """Place one account as the import does, then queue its first letter (now, or at `at`)."""
    def run():
        borrower = ensure_borrower(person or _person())
        account = place(db.database.session.scalar(select(Creditor).where(
            Creditor.code == creditor)), borrower, debt or _debt(), ACTOR)
        return borrower.id, account.id

    borrower_id, account_id = db.run(run)
    if consent:
        db.run(notices.consent_to_email, borrower_id, Actor("borrower", str(borrower_id)))
    if at is None:
        db.run(notices.queue_first_letters, [account_id], ACTOR)
    else:
        db.run(lambda: notices.send_first_letter(
            db.database.session.get(Account, account_id), ACTOR, at))
    return db.scalar(select(Account).where(Account.id == account_id))


def _captured(db, channel):
    return db.scalars(select(CapturedMessage).where(CapturedMessage.channel == channel)
                      .order_by(CapturedMessage.id))


def _pdf_text(document: bytes) -> str:
    return "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(document)).pages)


def test_a_us_placement_queues_the_validation_notice_as_a_letter_with_its_attempt(
        db, demo, client):
    before = datetime.now(UTC)
    account = _placed(db)
    (letter,) = _captured(db, "letter")
    assert letter.kind == "validation_notice" and letter.subject == "Validation notice"
    assert letter.destination.startswith("Sam Lee\n9 Elm St")
    # The notice's sent date is when it was queued; its period is counted from that day.
    sent = account.validation_notice_sent_at
    assert sent is not None and before <= sent <= datetime.now(UTC)
    ends = period_end(sent.date())
    (event,) = db.scalars(select(CaseEvent).where(CaseEvent.account_id == account.id,
                                                  CaseEvent.kind == "validation_notice.sent"))
    assert event.data == {"sent_on": sent.date().isoformat(), "respond_by": ends.isoformat(),
                          "channels": ["letter"], "spanish": False}
    (attempt,) = db.scalars(select(ContactAttempt).where(ContactAttempt.account_id == account.id))
    assert (attempt.channel, attempt.reported_by) == ("letter", "messaging:validation_notice")
    assert _captured(db, "email") == []  # no consent to electronic delivery: post only

    printed = client.get(f"/dev/messages/{letter.id}/letter.pdf")
    assert printed.status_code == 200
    text = _pdf_text(printed.data)
    by = f"{ends:%B} {ends.day}, {ends.year}"
    for part in ("Demo Collections is a debt collector.", "account number ****4444",
                 "As of March 31, 2026, you owed:", "$1,000.00", "+ $25.50", "+ $15.00",
                 "- $40.00", "Total amount of the debt now:", "$1,000.50",
                 f"Call or write to us by {by}", "www.cfpb.gov/debt-collection",
                 "I want to dispute the debt because I think:", "This is not my debt.",
                 "name and address of the original creditor", "Quiero este formulario"):
        assert part in text, part
    assert "4111222233334444" not in text
    # How the newly placed borrower signs in: their own reference, with the portal's address.
    assert "sign in with the reference NTC-1 and your date of birth" in " ".join(text.split())


def test_the_notice_goes_by_email_too_only_with_consent_to_electronic_delivery(db, demo):
    account = _placed(db, consent=True, at=DAYTIME)
    (email,) = _captured(db, "email")
    assert (email.kind, email.destination) == ("validation_notice", "sam@example.com")
    assert "Total amount of the debt now:\t$1,000.50" in email.body
    assert "To unsubscribe from these emails" in email.body  # 1006.6(e)
    assert len(_captured(db, "letter")) == 1  # the letter goes all the same
    channels = {a.channel for a in db.scalars(select(ContactAttempt).where(
        ContactAttempt.account_id == account.id))}
    assert channels == {"letter", "email"}
    (event,) = db.scalars(select(CaseEvent).where(CaseEvent.kind == "validation_notice.sent",
                                                  CaseEvent.account_id == account.id))
    assert event.data["channels"] == ["letter", "email"]


def test_the_notice_emails_html_part_is_laid_out_as_html_never_the_texts_marks(
        db, demo, mail):
    """Through the SMTP adapter, as it leaves: the itemization a table, headings headings,
    tick boxes a list; no '# ', TAB, '[ ]' (nor a markdown rule '---') left in the HTML (the
    account number's mask, ****4444, is the notice's own words)."""
    _placed(db, person=_person(language="es"), consent=True, at=DAYTIME)
    assert [r.status for r in db.run(send_due, clock=lambda: DAYTIME)] == ["sent"]
    (caught,) = mail.wait_for(1)
    html = caught.part("html")
    soup = BeautifulSoup(html, "html.parser")
    words = soup.body.get_text("\n")
    for mark in ("# ", "\t", "[ ]", "---"):
        assert mark not in words, mark
    tables = soup.find_all("table")
    assert len(tables) == 2  # the English itemization, then the Spanish one
    rows = [(tr.th.get_text(), tr.td.get_text()) for tr in tables[0].find_all("tr")]
    assert rows[0] == ("As of March 31, 2026, you owed:", "$1,000.00")
    assert ("You were charged this amount in interest:", "+ $25.50") in rows
    assert rows[-1] == ("Total amount of the debt now:", "$1,000.50")
    assert tables[1].find_all("tr")[-1].th.get_text() == "Cantidad total de la deuda ahora:"
    headings = [h.get_text() for h in soup.find_all("h2")]
    assert headings[:2] == ["Validation notice", "Our information shows:"]
    assert "Aviso de validación" in headings and "How can you dispute the debt?" in headings
    assert "This is not my debt." in [li.get_text(strip=True).lstrip("☐ ")
                                      for li in soup.find_all("li")]
    # The plain-text part is the notice's text, marks and all, as the letter is written.
    assert "Total amount of the debt now:\t$1,000.50" in caught.part("plain")


def test_consent_is_one_at_a_time_and_withdrawing_it_means_post_only(db, demo):
    def borrower_id():
        return ensure_borrower(_person()).id

    who = db.run(borrower_id)
    actor = Actor("borrower", str(who))
    consent = db.run(notices.consent_to_email, who, actor)
    assert consent.withdrawn_at is None
    with pytest.raises(Refused):
        db.run(notices.consent_to_email, who, actor)
    db.run(notices.withdraw_email_consent, who, actor)
    with pytest.raises(Refused):
        db.run(notices.withdraw_email_consent, who, actor)
    (row,) = db.scalars(select(DeliveryConsent).where(DeliveryConsent.borrower_id == who))
    assert row.withdrawn_at is not None
    kinds = [e.kind for e in db.scalars(select(CaseEvent).where(CaseEvent.borrower_id == who)
                                        .order_by(CaseEvent.id))]
    assert kinds[-2:] == ["notices.edelivery_consented", "notices.edelivery_withdrawn"]
    _placed(db, debt=_debt("NWB-9002"), at=DAYTIME)
    assert _captured(db, "email") == [] and len(_captured(db, "letter")) == 1


def test_consent_needs_an_email_on_file(db, demo):
    who = db.run(lambda: ensure_borrower(_person(emails=())).id)
    with pytest.raises(Refused, match="no email address"):
        db.run(notices.consent_to_email, who, Actor("borrower", str(who)))


def test_a_spanish_reader_gets_the_english_notice_then_the_spanish_one(db, demo):
    account = _placed(db, person=_person(language="es"))
    (letter,) = _captured(db, "letter")
    assert letter.subject == "Validation notice / Aviso de validación"
    body = letter.body
    assert body.index("# Validation notice") < body.index("# Aviso de validación")
    assert "es un cobrador de deudas" in body
    assert db.scalar(select(CaseEvent.data).where(
        CaseEvent.kind == "validation_notice.sent",
        CaseEvent.account_id == account.id))["spanish"] is True


def test_an_account_whose_notice_was_already_sent_gets_no_second_one(db, demo):
    earlier = datetime.now(UTC) - timedelta(days=3)
    account = _placed(db, debt=_debt(sent_at=earlier))
    assert _captured(db, "letter") == []
    assert account.validation_notice_sent_at == earlier


def test_no_letter_no_sent_date_when_the_borrower_has_no_postal_address_left(db, demo):
    """An address opted out of: the letter cannot go, so no validation period is claimed."""
    from portal.accounts.models import ContactKind, ContactPoint

    def run():
        borrower = ensure_borrower(_person())
        for point in borrower.contact_points:
            if point.kind == ContactKind.ADDRESS:
                point.opted_out_at = datetime.now(UTC)
        return borrower.id

    db.run(run)
    account = _placed(db)
    assert _captured(db, "letter") == [] and account.validation_notice_sent_at is None
    assert db.scalars(select(ContactPoint.id).where(ContactPoint.opted_out_at.isnot(None)))


def test_with_a_print_folder_the_worker_leaves_the_notice_pdf_with_its_table(
        app, db, demo, tmp_path, monkeypatch):
    vendor = letters.FolderPrintVendor(tmp_path)
    monkeypatch.setitem(app.extensions, EXTENSION, {"email": None, "sms": None, "letter": vendor})
    _placed(db)
    (queued,) = db.scalars(select(OutgoingMessage))
    assert (queued.kind, queued.status) == ("validation_notice", "queued")
    assert [r.status for r in db.run(send_due)] == ["sent"]
    text = _pdf_text((tmp_path / f"{queued.id}.pdf").read_bytes())
    assert "Demo Collections" in text and "Sam Lee" in text
    assert "Total amount of the debt now: $1,000.50" in text.replace("\n", " ")
    assert "# " not in text and "[ ]" not in text  # laid out, not the text's marks


def test_the_uk_first_letter_names_the_agency_advice_and_the_ombudsman(db, demo, client):
    account = _placed(db, person=_person("NTC-GB", country="GB"),
                      debt=_debt("TCS-9001", "GBP"), creditor="TCS")
    (letter,) = _captured(db, "letter")
    assert letter.kind == "first_letter_gb"
    assert account.validation_notice_sent_at is None  # no US validation period
    text = _pdf_text(client.get(f"/dev/messages/{letter.id}/letter.pdf").data)
    for part in ("Demo Collections is a debt collection agency.",
                 "Thames Card Services has asked us to collect this debt",
                 "MoneyHelper", "StepChange", "National Debtline", "Citizens Advice",
                 "Financial Ombudsman Service", "£1,000.50"):
        assert part in text, part


def test_the_china_first_letter_states_the_mandate_in_chinese_and_prints(db, demo, client):
    _placed(db, person=_person("NTC-CN", country="CN"), debt=_debt("JRF-9001", "CNY"),
            creditor="JRF")
    (letter,) = _captured(db, "letter")
    assert letter.kind == "first_letter_cn"
    assert "Jade River Consumer Finance已书面委托我们" in letter.body
    assert "12378" in letter.body and "instructed us in writing" in letter.body
    printed = client.get(f"/dev/messages/{letter.id}/letter.pdf")
    assert printed.status_code == 200  # the CJK font is embedded (fonts-noto-cjk)
    flat = _pdf_text(printed.data).replace("\x00", "").replace(" ", "")
    assert "已书面委托我们" in flat and "投诉" in flat and "¥1,000.50" in flat


# --- the account page -------------------------------------------------------------------------


def _notice_text(page) -> str:
    return " ".join(page.soup.select_one("section.notice").get_text(" ").split())


def test_the_borrower_sees_the_notice_they_were_sent_on_their_account_page(person, demo, db):
    person.sign_in("DEMO-1001", "1985-04-12")
    page = person.get("/accounts/NWB-1001")
    account = db.scalar(select(Account).where(Account.reference == "NWB-1001"))
    ends = period_end(account.validation_notice_sent_at.date())
    text = _notice_text(page)
    assert "Validation notice" in text
    assert "Northwind Bank" in text and "****1234" in text
    assert "Total amount of the debt now: $2,480.19" in text
    assert f"Call or write to us by {ends:%B} {ends.day}, {ends.year}" in text
    assert "Aviso de validación" not in text
    assert page.soup.select_one("section.notice a")["href"] == "/accounts/NWB-1001/dispute"


def test_a_spanish_reader_sees_both_notices_on_the_page(person, demo):
    person.sign_in("DEMO-1002", "1979-07-30")
    page = person.get("/accounts/NWB-1002")
    parts = page.soup.select("section.notice article")
    assert [p["lang"] for p in parts] == ["en", "es"]
    assert "Cantidad total de la deuda ahora: $410.55" in " ".join(parts[1].get_text(" ").split())


def test_the_page_shows_the_same_notice_as_the_letter_even_after_a_payment(person, demo, db):
    account = _placed(db)
    (letter,) = _captured(db, "letter")

    def pay():
        from portal.accounts import ledger
        from portal.accounts.models import EntryKind

        acc = db.database.session.get(Account, account.id)
        ledger.post_opening(acc, EntryKind.PAYMENT, Money(-10000, "USD"), "Payment",
                            date.today(), ACTOR, datetime.now(UTC) + timedelta(seconds=5))

    db.run(pay)
    person.sign_in("NTC-1", "1980-02-03")
    text = _notice_text(person.get(f"/accounts/{account.reference}"))
    # Every paragraph and table row of the letter is on the page, as it was sent.
    for paragraph in letter.body.split("\n\n"):
        for line in paragraph.splitlines():
            words = " ".join(line.removeprefix("# ").removeprefix("[ ] ").replace("\t", " ")
                             .split())
            assert words in text, words


def test_accounts_without_a_sent_first_letter_show_none(person, demo, db):
    """Placed, but no letter queued (nor recorded as sent before): no notice to show."""
    def run():
        borrower = ensure_borrower(_person("NTC-GB", country="GB"))
        place(db.database.session.scalar(select(Creditor).where(Creditor.code == "TCS")),
              borrower, _debt("TCS-9002", "GBP"), ACTOR)

    db.run(run)
    person.sign_in("NTC-GB", "1980-02-03")
    assert person.get("/accounts/TCS-9002").soup.select_one("section.notice") is None


def test_the_uk_demo_borrower_sees_their_first_letter_on_the_account_page(person, demo, db):
    person.sign_in("DEMO-3001", "1978-01-23")
    page = person.get("/accounts/TCS-3001")
    section = page.soup.select_one("section.notice")
    assert section.h2.get_text() == "Our first letter to you"
    (part,) = section.select("article")
    assert part["lang"] == "en"
    text = _notice_text(page)
    for words in ("Your Thames Card Services account is now with Demo Collections",
                  "Demo Collections is a debt collection agency.",
                  "Thames Card Services has asked us to collect this debt for it",
                  "account number ****3333", "Owed now £1,150.00", "Free debt advice",
                  "MoneyHelper", "StepChange", "Financial Ombudsman Service"):
        assert words in text, words
    assert "Validation notice" not in text and "validation period" not in page.text
    (event,) = db.scalars(select(CaseEvent).join(Account, Account.id == CaseEvent.account_id)
                          .where(Account.reference == "TCS-3001",
                                 CaseEvent.kind == "first_letter.sent"))
    assert event.data["letter"] == "first_letter_gb" and event.data["channels"] == ["letter"]
    assert "We sent you our first letter about this account on" in page.text  # the history


def test_the_china_demo_borrower_sees_the_mandate_in_chinese_then_english(person, demo):
    person.sign_in("DEMO-2001", "1990-09-02")
    page = person.get("/accounts/JRF-2001")
    parts = page.soup.select("section.notice article")
    assert [p["lang"] for p in parts] == ["zh", "en"]
    chinese, english = (" ".join(p.get_text(" ").split()) for p in parts)
    assert "Jade River Consumer Finance已书面委托我们" in chinese and "12378" in chinese
    assert "¥12,600.00" in chinese
    assert "instructed us in writing" in english and "12378" in english


def test_a_placed_uk_account_shows_the_letter_it_was_sent(person, demo, db):
    account = _placed(db, person=_person("NTC-GB", country="GB"),
                      debt=_debt("TCS-9001", "GBP"), creditor="TCS")
    (letter,) = _captured(db, "letter")
    (event,) = db.scalars(select(CaseEvent).where(CaseEvent.account_id == account.id,
                                                  CaseEvent.kind == "first_letter.sent"))
    assert event.data == {"letter": "first_letter_gb", "channels": ["letter"],
                          "sent_on": event.occurred_at.date().isoformat()}
    person.sign_in("NTC-GB", "1980-02-03")
    text = _notice_text(person.get(f"/accounts/{account.reference}"))
    for paragraph in letter.body.split("\n\n"):
        for line in paragraph.splitlines():
            words = " ".join(line.removeprefix("# ").replace("\t", " ").split())
            assert words in text, words


def test_an_email_at_an_inconvenient_hour_is_held_back_and_the_letter_still_goes(db, demo):
    """23:00 in New York: the emailed copy would break 1006.6(b)(1); the letter is no call."""
    late = DAYTIME.replace(hour=4)
    account = _placed(db, consent=True, at=late)
    assert _captured(db, "email") == [] and len(_captured(db, "letter")) == 1
    assert account.validation_notice_sent_at == late
