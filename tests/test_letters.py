"""Letters (issue 13): rendered to a PDF and left for the print vendor once per outgoing id,
addressed by notify to the postal address on file, and sent where staff choose "by mail"."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import UTC, date, datetime

import pikepdf
import pypdf
import pytest
from sqlalchemy import delete, select

from portal.accounts.models import Account, Borrower, ContactKind, ContactPoint
from portal.agency.models import Agency
from portal.cases.models import CaseEvent
from portal.contact.models import ContactAttempt
from portal.disputes.models import Dispute, EvidenceFile
from portal.messaging import letters, messages
from portal.messaging import service as delivery
from portal.messaging.channels import EXTENSION, adapter_for
from portal.messaging.envelope import Envelope, Permanent, Sent, Transient
from portal.messaging.models import CapturedMessage, OutgoingMessage
from portal.messaging.notify import Status, notify
from portal.messaging.outgoing import send_due
from tests.test_dispute_original_creditor import _send_original_creditor
from tests.test_disputes import _number, _send, _verify, alex
from tests.test_notify import _cease

__all__ = ["alex"]

ALEX = "Alex Rivera\n350 W 31st St\nApt 4B\nNew York, NY 10001\nUNITED STATES"
AGENCY = "Demo Collections LLC\n1 Agency Way\nAlbany, NY 12207"
ON = date(2026, 12, 3)


def _envelope(id=41, to=ALEX, text="We have verified the debt.", language="en",
              subject="Verification of the debt you disputed (D-7)", channel="letter"):
    return Envelope(id=id, channel=channel, to=to, sender=AGENCY, subject=subject, text=text,
                    html=None, language=language, kind="dispute_verification_letter")


def _text(document: bytes) -> list[str]:
    return [page.extract_text() for page in pypdf.PdfReader(io.BytesIO(document)).pages]


# --- the PDF --------------------------------------------------------------------------------


def test_a_letter_reads_back_with_the_return_address_the_address_block_the_date_and_words():
    document, pages = letters.render(_envelope(), ON)
    (page,) = _text(document)
    assert pages == 1
    assert page.index("Demo Collections LLC") < page.index("Alex Rivera")  # return address first
    # The address block, one line each, in order, as the envelope's window shows it.
    assert "Alex Rivera\n350 W 31st St\nApt 4B\nNew York, NY 10001\nUNITED STATES" in page
    assert "December 3, 2026" in page
    assert "Verification of the debt you disputed (D-7)" in page
    assert "We have verified the debt." in page
    with pikepdf.open(io.BytesIO(document)) as pdf:  # a well-formed file, on US Letter paper
        assert [float(x) for x in pdf.pages[0].mediabox] == [0, 0, 612, 792]


def test_a_long_letter_runs_over_pages_numbered_and_spanish_is_kept_whole():
    body = "\n\n".join(f"Párrafo {n}: " + "una disputa y su verificación, " * 40
                       for n in range(12))
    to = "María López\n12 Brattle St\nCambridge, MA 02139\nUNITED STATES"
    document, pages = letters.render(_envelope(to=to, text=body, language="es",
                                               subject="Verificación — disputa D-8"), ON)
    read = _text(document)
    assert pages == len(read) >= 3
    assert "3 de diciembre de 2026" in read[0] and "María López" in read[0]
    assert "Verificación - disputa D-8" in read[0]  # the dash the built-in font lacks, spelled
    assert "Párrafo 11:" in "".join(read[1:]) and "Párrafo 11:" not in read[0]
    assert all(f"{n}/{pages}" in text for n, text in enumerate(read, start=1))


def test_a_letter_the_built_in_fonts_cannot_show_is_refused_not_printed_with_question_marks(
        tmp_path):
    chinese = _envelope(to="王芳\n朝阳区建国路 88 号\n100022 北京 BJ\nCHINA", language="zh_Hans")
    with pytest.raises(Permanent) as refused:
        letters.FolderPrintVendor(tmp_path).send(chinese)
    assert refused.value.code == "unprintable"
    assert list(tmp_path.iterdir()) == []


# --- the folder vendor ----------------------------------------------------------------------


def test_the_folder_gets_one_pdf_and_manifest_per_id_and_a_retry_sends_nothing_twice(tmp_path):
    vendor = letters.FolderPrintVendor(tmp_path / "queue", today=lambda: ON)
    assert vendor.send(_envelope()) == Sent("print-folder", "41")
    pdf, manifest = tmp_path / "queue" / "41.pdf", tmp_path / "queue" / "41.json"
    first = pdf.read_bytes()
    described = json.loads(manifest.read_text())
    assert described["pages"] == 1 and described["pdf"] == "41.pdf"
    assert described["sha256"] == hashlib.sha256(first).hexdigest()
    assert "Rivera" not in manifest.read_text()  # the address is in the PDF only

    later = letters.FolderPrintVendor(tmp_path / "queue", today=lambda: date(2026, 12, 9))
    assert later.send(_envelope(text="A retry, rendered again")) == Sent("print-folder", "41")
    assert sorted(p.name for p in (tmp_path / "queue").iterdir()) == ["41.json", "41.pdf"]
    assert pdf.read_bytes() == first  # not overwritten: the vendor may have printed it


def test_a_pdf_left_without_its_manifest_is_written_again_and_then_completed(tmp_path):
    """A crash between the PDF and the manifest: the vendor never took that letter."""
    (tmp_path / "41.pdf").write_bytes(b"half")
    letters.FolderPrintVendor(tmp_path).send(_envelope())
    assert (tmp_path / "41.pdf").read_bytes().startswith(b"%PDF")
    assert (tmp_path / "41.json").exists()


def test_only_letters_with_an_address_go_to_the_print_vendor(tmp_path):
    vendor = letters.FolderPrintVendor(tmp_path)
    with pytest.raises(Permanent, match="wrong_channel"):
        vendor.send(_envelope(channel="email"))
    with pytest.raises(Permanent, match="no_address"):
        vendor.send(_envelope(to="  "))


def test_the_adapter_is_the_folder_when_configured_and_none_otherwise(tmp_path, app):
    chosen = letters.adapter_from_config({"PRINT_VENDOR_DIR": str(tmp_path)})
    assert isinstance(chosen, letters.FolderPrintVendor) and chosen.folder == tmp_path
    assert letters.adapter_from_config({"PRINT_VENDOR_DIR": None}) is None
    assert letters.adapter_from_config({}) is None
    # Demo mode without a folder captures letters at /dev/messages, like every other message.
    assert app.config["PRINT_VENDOR_DIR"] is None
    assert adapter_for("letter", app) is None


def test_with_a_print_folder_a_letter_is_queued_and_the_worker_leaves_it_with_the_return_address(
        app, db, demo, tmp_path, monkeypatch):
    vendor = letters.FolderPrintVendor(tmp_path)
    monkeypatch.setitem(app.extensions, EXTENSION, {"email": None, "sms": None, "letter": vendor})
    assert _letter_to(db).status == Status.SENT
    (queued,) = db.scalars(select(OutgoingMessage))
    assert (queued.channel, queued.destination, queued.status) == ("letter", ALEX, "queued")
    assert db.scalars(select(CapturedMessage)) == []  # queued for print, not captured
    assert [r.status for r in db.run(send_due)] == ["sent"]
    assert db.run(send_due) == []  # one letter, once
    printed = pypdf.PdfReader(io.BytesIO((tmp_path / f"{queued.id}.pdf").read_bytes()))
    words = "".join(page.extract_text() for page in printed.pages)
    agency = db.scalar(select(Agency).where(Agency.name == "Demo Collections"))
    assert agency.postal_address and agency.postal_address.splitlines()[1] in words
    assert "Northwind Bank, 1 Main St" in words
    assert json.loads((tmp_path / f"{queued.id}.json").read_text())["kind"] == (
        "dispute_original_creditor_letter")


def test_the_demo_shows_a_captured_letter_as_the_printed_pdf(db, demo, client):
    assert _letter_to(db).status == Status.SENT
    (captured,) = db.scalars(select(CapturedMessage).where(CapturedMessage.channel == "letter"))
    page = client.get("/dev/messages")
    assert ALEX not in page.text and "the postal address on file" in page.text
    printed = client.get(f"/dev/messages/{captured.id}/letter.pdf")
    assert printed.status_code == 200 and printed.content_type == "application/pdf"
    words = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(printed.data)).pages)
    assert "Northwind Bank, 1 Main St" in words
    assert client.get("/dev/messages/999999999/letter.pdf").status_code == 404


# --- notify: the letter's destination -------------------------------------------------------


def _letter_to(db, account_ref="NWB-1001"):
    def run():
        session = db.database.session
        account = session.scalar(select(Account).where(Account.reference == account_ref))
        return notify(account.borrower,
                      messages.dispute_original_creditor_letter("D-9", account_ref,
                                                                "Northwind Bank, 1 Main St"),
                      account=account, channel="letter")

    return db.run(run)


def _letter_attempts(db):
    return [(a.channel, a.destination, a.reported_by)
            for a in db.scalars(select(ContactAttempt).where(ContactAttempt.channel == "letter"))]


def test_a_letter_goes_to_the_postal_address_on_file_and_is_a_letter_attempt(db, demo):
    outcome = _letter_to(db)
    assert (outcome.status, outcome.destination) == (Status.SENT, ALEX)
    assert _letter_attempts(db) == [
        ("letter", ALEX, "messaging:dispute_original_creditor_letter")]
    (captured,) = db.scalars(select(CapturedMessage).where(CapturedMessage.channel == "letter"))
    assert captured.destination == ALEX and "Northwind Bank, 1 Main St" in captured.body


def test_a_letter_never_goes_to_an_address_opted_out_of_nor_without_one(db, demo):
    """The rules know an address by its point, not by the letter's lines: notify never picks an
    opted-out one."""
    assert _letter_to(db).status == Status.SENT
    alex_id = db.scalar(select(Borrower.id).where(Borrower.reference == "DEMO-1001"))
    db.execute(ContactPoint.__table__.update().where(
        ContactPoint.borrower_id == alex_id, ContactPoint.kind == ContactKind.ADDRESS)
        .values(opted_out_at=datetime(2026, 1, 1, tzinfo=UTC)))
    assert _letter_to(db).status == Status.NO_DESTINATION
    db.execute(delete(ContactPoint).where(ContactPoint.borrower_id == alex_id,
                                          ContactPoint.kind == ContactKind.ADDRESS))
    assert _letter_to(db).status == Status.NO_DESTINATION
    assert len(_letter_attempts(db)) == 1  # the first letter's only


def test_the_rules_judge_a_letter_like_any_contact(db, demo):
    _cease(db)
    outcome = _letter_to(db)
    assert (outcome.status, outcome.rule) == (Status.BLOCKED, "us.cease-communication")
    assert _letter_attempts(db) == []


# --- the flows: staff send it "by mail" ------------------------------------------------------


def _print(captured: CapturedMessage, tmp_path) -> list[str]:
    """What the print vendor would print for the captured letter."""
    envelope = Envelope(id=captured.id, channel="letter", to=captured.destination,
                        sender=AGENCY, subject=captured.subject, text=captured.body, html=None,
                        language="en", kind=captured.kind)
    letters.FolderPrintVendor(tmp_path).send(envelope)
    return _text((tmp_path / f"{captured.id}.pdf").read_bytes())


def test_the_original_creditor_by_mail_is_a_letter_sent_and_a_letter_attempt(
        alex, db, make_person, staff_sign_in, tmp_path):
    number = _number(_send(alex, fields={"original_creditor": "y"}))
    staff = make_person()
    staff_sign_in(staff, "agent@demo.test")
    page = _send_original_creditor(staff, number, delivery="mail",
                                   details="Northwind Bank N.A.\n1 Main St\nWilmington DE 19801")
    assert "Saved." in page.text
    assert _letter_attempts(db) == [
        ("letter", ALEX, "messaging:dispute_original_creditor_letter")]
    (letter,) = db.scalars(select(CapturedMessage).where(CapturedMessage.channel == "letter"))
    assert letter.kind == "dispute_original_creditor_letter"
    (printed,) = _print(letter, tmp_path)
    assert ALEX in printed and "Wilmington DE 19801" in printed and number in printed
    # No email said the same thing.
    assert db.scalars(select(CapturedMessage).where(
        CapturedMessage.kind == "dispute_original_creditor")) == []


def test_verification_by_mail_is_a_letter_naming_the_account_and_creditor(
        alex, db, make_person, staff_sign_in):
    number = _number(_send(alex))
    staff = make_person()
    staff_sign_in(staff, "compliance@demo.test")
    assert "Saved." in _verify(staff, number, delivery="mail").text
    (letter,) = db.scalars(select(CapturedMessage).where(CapturedMessage.channel == "letter"))
    assert (letter.kind, letter.destination) == ("dispute_verification_letter", ALEX)
    assert "NWB-1001" in letter.body and "Northwind" in letter.body
    assert [a[0] for a in _letter_attempts(db)] == ["letter"]


def test_by_mail_with_no_address_is_refused_and_nothing_is_recorded(
        alex, db, make_person, staff_sign_in):
    number = _number(_send(alex, fields={"original_creditor": "y"}))
    alex_id = db.scalar(select(Borrower.id).where(Borrower.reference == "DEMO-1001"))
    db.execute(delete(ContactPoint).where(ContactPoint.borrower_id == alex_id,
                                          ContactPoint.kind == ContactKind.ADDRESS))
    staff = make_person()
    staff_sign_in(staff, "agent@demo.test")
    page = _send_original_creditor(staff, number, delivery="mail")
    assert "no postal address" in page.text and "Saved." not in page.text
    assert db.scalar(select(Dispute.original_creditor_sent_at)
                     .where(Dispute.id == int(number[2:]))) is None
    assert db.scalars(select(CaseEvent).where(
        CaseEvent.kind == "dispute.original_creditor_sent")) == []
    assert _letter_attempts(db) == []
    # In the portal instead, it goes.
    assert "Saved." in _send_original_creditor(staff, number).text


def test_verification_by_mail_under_a_cease_is_refused_with_the_rule_and_nothing_is_kept(
        alex, db, make_person, staff_sign_in):
    number = _number(_send(alex))
    _cease(db)
    staff = make_person()
    staff_sign_in(staff, "compliance@demo.test")
    page = _verify(staff, number, delivery="mail")
    assert "us.cease-communication" in page.text and "Saved." not in page.text
    dispute = db.scalar(select(Dispute).where(Dispute.id == int(number[2:])))
    assert dispute.status != "verification_sent" and dispute.verification_sent_at is None
    assert db.scalars(select(EvidenceFile).where(EvidenceFile.dispute_id == dispute.id,
                                                 EvidenceFile.kind == "verification")) == []
    assert db.scalars(select(CaseEvent).where(
        CaseEvent.kind == "dispute.verification_sent")) == []
    assert _letter_attempts(db) == []


def test_where_nothing_prints_letters_the_agency_posts_it_and_it_is_recorded_as_before(
        alex, db, make_person, staff_sign_in, monkeypatch):
    number = _number(_send(alex, fields={"original_creditor": "y"}))
    staff = make_person()
    staff_sign_in(staff, "agent@demo.test")

    def nowhere(**kwargs):
        raise delivery.DeliveryUnavailable("no print vendor")

    monkeypatch.setattr(delivery, "send", nowhere)
    assert "Saved." in _send_original_creditor(staff, number, delivery="mail").text
    event = db.scalar(select(CaseEvent).where(CaseEvent.kind == "dispute.original_creditor_sent"))
    assert event.data["delivery"] == "mail"
    assert _letter_attempts(db) == []  # nothing the portal sent, so no attempt of its own


def test_a_letter_that_cannot_be_prepared_is_refused_and_nothing_is_recorded(
        alex, db, make_person, staff_sign_in, monkeypatch):
    number = _number(_send(alex, fields={"original_creditor": "y"}))
    staff = make_person()
    staff_sign_in(staff, "agent@demo.test")

    def broken(**kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(delivery, "send", broken)
    page = _send_original_creditor(staff, number, delivery="mail")
    assert "could not be prepared" in page.text and "Saved." not in page.text
    assert db.scalars(select(CaseEvent).where(
        CaseEvent.kind == "dispute.original_creditor_sent")) == []


def test_a_share_without_hard_links_still_gets_the_manifest(tmp_path, monkeypatch):
    def no_links(source, target):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(letters.os, "link", no_links)
    assert letters.FolderPrintVendor(tmp_path).send(_envelope()) == Sent("print-folder", "41")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["41.json", "41.pdf"]


def test_an_unwritable_folder_is_a_transient_failure_naming_no_one(tmp_path):
    (tmp_path / "queue").write_text("a file where the folder should be")
    with pytest.raises(Transient) as failed:
        letters.FolderPrintVendor(tmp_path / "queue").send(_envelope())
    assert "Rivera" not in failed.value.reason
