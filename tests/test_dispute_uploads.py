"""Evidence uploads through the borrower's real dispute form: each upload attack is refused with
its message on the page and leaves nothing behind (no row, no event, no hold, no file on disk);
a good dispute's files are encrypted on disk, cleaned, and served only to the borrower and to
staff who work disputes, as attachments; a failed transaction takes its files back."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select
from werkzeug.test import EnvironBuilder

from portal.cases.models import CaseEvent
from portal.contact.models import ContactHold
from portal.disputes import evidence, storage
from portal.disputes.models import Dispute, EvidenceFile
from portal.disputes.views import UPLOAD_LIMIT
from portal.messaging.models import CapturedMessage
from portal.outbox.models import OutboxMessage
from tests.fixtures.factories import sample_pdf
from tests.unit.test_evidence import (
    ATTACKS,
    GPS_IFD,
    jpeg,
    pdf_link_to_the_web,
    photo_exif,
    png,
    png_sized,
)
from tests.unit.test_evidence_pdfs import FORBIDDEN, every_name

OWNER = ("DEMO-1001", "1985-04-12")
OUTSIDER = ("DEMO-1002", "1979-07-30")
FORM = "/accounts/NWB-1001/dispute"
PDF_TEXT = "Statement for NWB-1001 from Northwind Bank"

#: What the borrower reads for each refusal (the start of it).
MESSAGES = {
    "active_pdf": "This PDF contains scripts or attachments, which we cannot accept.",
    "type": "We accept PDF, JPEG, PNG and HEIC files only.",
    "polyglot": "This file contains",
    "too_large": "Each file must be 10 MB or smaller.",
    "empty": "This file is empty.",
    "bad_name": "A file name may not contain a folder path.",
    "too_many_pixels": "This image is too large to open safely.",
    "damaged": "looks damaged",
    "too_many": "You can attach at most 10 files.",
    "encrypted": "This PDF is locked with a password or encryption",
    "over_budget": "This PDF is too large to check once unpacked.",
    "too_much_together": "These files are too large to check together.",
    "unchecked": "This PDF uses a kind of compression we cannot check.",
}


@pytest.fixture
def borrower(demo, person):
    person.sign_in(*OWNER)
    return person


def send(person, files, **fields):
    """Fill the dispute form as the borrower would and attach `files` [(name, bytes)]."""
    page = person.get(FORM)
    assert page.status == 200 and page.h1 == "Dispute this debt", page.text[:300]
    values = {"reasons": "not_mine", "details": "It is not mine.", **fields}
    if files:
        values["files"] = [(io.BytesIO(data), name) for name, data in files]
    client = person.client

    def post(target, data, **kwargs):
        # The test client spools a large body to a temporary file and leaves it open (a
        # ResourceWarning later); this closes it once the response is in.
        builder = EnvironBuilder(target, method="POST", data=data)
        environ = builder.get_environ()
        builder.close()
        try:
            return client.open(environ, **kwargs)
        finally:
            environ["wsgi.input"].close()

    client.post = post
    try:
        return person.submit(page, values, action=FORM)
    finally:
        del client.post


def evidence_folder(app) -> set[str]:
    return set(os.listdir(app.config["EVIDENCE_DIR"]))


def stored(db, app) -> dict:
    """Everything a dispute would leave behind."""

    def count(model, *where):
        return db.scalar(select(func.count()).select_from(model).where(*where))

    return {
        "disputes": count(Dispute),
        "files": count(EvidenceFile),
        "dispute_events": count(CaseEvent, CaseEvent.kind == "dispute.opened"),
        "events": count(CaseEvent),
        "holds": count(ContactHold),
        "outbox": count(OutboxMessage, OutboxMessage.topic.like("dispute.%")),
        "emails": count(CapturedMessage, CapturedMessage.kind == "dispute_received"),
        "folder": evidence_folder(app),
    }


def assert_nothing_stored(before: dict, after: dict) -> None:
    assert after == before
    assert after["disputes"] == after["files"] == after["dispute_events"] == 0


def _attack_cases():
    cases = [pytest.param(name, make, code, id=attack)
             for attack, (name, make, code) in ATTACKS.items()]
    cases.append(pytest.param("page.png", None, "too_many", id="eleven_files"))
    return cases


@pytest.mark.parametrize(("name", "make", "code"), _attack_cases())
def test_each_upload_attack_is_refused_on_the_page_and_nothing_is_kept(
        borrower, db, app, name, make, code):
    # A good file rides along each time: it must not be kept either.
    files = ([("statement.pdf", sample_pdf()), (name, make())] if make
             else [(f"page-{n}.png", png()) for n in range(evidence.MAX_FILES + 1)])
    before = stored(db, app)

    page = send(borrower, files)

    assert page.status == 422, page.text[:300]
    alert = page.soup.select_one(".alert--error")
    assert alert is not None and MESSAGES[code] in alert.get_text(" ")
    assert "Nothing was saved" in alert.get_text(" ")
    assert page.h1 == "Dispute this debt"
    assert_nothing_stored(before, stored(db, app))


def test_exactly_10_mb_is_accepted_through_the_form(borrower, db, app):
    before = evidence_folder(app)

    page = send(borrower, [("scan.png", png_sized(evidence.MAX_BYTES))])

    assert page.status == 200 and page.h1.startswith("Your dispute D-"), page.text[:300]
    (row,) = db.scalars(select(EvidenceFile))
    assert row.content_type == "image/png" and evidence_folder(app) - before == {row.stored_name}


def test_a_refusal_after_the_files_were_written_takes_them_back(borrower, db, app):
    before = stored(db, app)

    page = send(borrower, [("statement.pdf", sample_pdf()), ("photo.jpg", jpeg())],
                scope="part", part_amount="not a number")

    assert page.status == 422
    assert "Enter the amount you dispute as a number" in page.text
    assert_nothing_stored(before, stored(db, app))


def test_a_failed_transaction_removes_the_files_it_wrote(borrower, db, app, monkeypatch):
    from portal.disputes import service, storage

    written = []
    real_write = storage.write

    def write(data):
        written.append(real_write(data))
        return written[-1]

    def publish(*args, **kwargs):
        assert all((storage.folder() / n).exists() for n in written)  # on disk by now
        raise RuntimeError("the outbox is down")

    monkeypatch.setattr(storage, "write", write)
    monkeypatch.setattr(service, "publish", publish)
    before = stored(db, app)

    with pytest.raises(RuntimeError, match="the outbox is down"):
        send(borrower, [("statement.pdf", sample_pdf()), ("photo.jpg", jpeg(photo_exif()))])

    assert len(written) == 2
    assert_nothing_stored(before, stored(db, app))


def test_a_backslash_that_survives_the_multipart_parser_is_refused(borrower, db, app):
    """Werkzeug reads a quoted file name with escapes (a lone backslash vanishes), so this one
    is written by hand: it arrives as `folder\\evil.pdf`."""
    token = borrower.get(FORM).soup.find("input", {"name": "csrf_token"})["value"]
    boundary = "----evidence-boundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n"
            f"{token}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"reasons\"\r\n"
            f"\r\nnot_mine\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; "
            f'filename="folder\\\\evil.pdf"\r\nContent-Type: application/pdf\r\n\r\n').encode()
    body += sample_pdf() + f"\r\n--{boundary}--\r\n".encode()
    before = stored(db, app)

    response = borrower.client.post(FORM, data=body,
                                    content_type=f"multipart/form-data; boundary={boundary}")

    assert response.status_code == 422
    assert MESSAGES["bad_name"] in response.get_data(as_text=True)
    assert_nothing_stored(before, stored(db, app))


# --- a good dispute ------------------------------------------------------------------------------


@pytest.fixture
def good_dispute(borrower, db, app):
    """A dispute with a PDF and a phone photo (with its location), sent through the form."""
    before = evidence_folder(app)
    photo, statement = jpeg(photo_exif()), sample_pdf(PDF_TEXT)  # (the PDF carries its time)
    page = send(borrower, [("My statement.pdf", statement), ("IMG_0001.JPG", photo)])
    assert page.status == 200, page.text[:300]
    number = re.search(r"D-\d{6}", page.h1).group(0)
    assert f"We received your dispute {number}." in page.text
    files = db.scalars(select(EvidenceFile).order_by(EvidenceFile.id))
    return {"number": number, "files": files, "photo": photo, "statement": statement,
            "kept_statement": evidence.check("statement.pdf", statement).data,
            "written": evidence_folder(app) - before}


def test_a_good_dispute_is_stored_with_its_files_encrypted(good_dispute, db, app):
    number, files = good_dispute["number"], good_dispute["files"]
    dispute = db.scalar(select(Dispute))
    assert dispute.number == number and dispute.status == "received"
    assert [(f.display_name, f.content_type, f.kind) for f in files] == [
        ("My statement.pdf", "application/pdf", "evidence"),
        ("IMG_0001.jpg", "image/jpeg", "evidence")]
    assert good_dispute["written"] == {f.stored_name for f in files}
    opened = db.scalars(select(CaseEvent).where(CaseEvent.kind == "dispute.opened"))
    assert len(opened) == 1 and opened[0].data["files"] == 2
    for row in files:
        assert re.fullmatch(r"[0-9a-f]{64}", row.stored_name)
        raw = (Path(app.config["EVIDENCE_DIR"]) / row.stored_name).read_bytes()
        assert not raw.startswith((b"%PDF", b"\xff\xd8"))
        for plain in (PDF_TEXT.encode(), b"Northwind", b"%%EOF", b"JFIF", b"PhoneMaker"):
            assert plain not in raw
        assert len(raw) > row.size  # sealed: nonce and tag around the bytes
    assert not Path(app.config["EVIDENCE_DIR"]).resolve().is_relative_to(
        Path(app.static_folder).resolve())  # outside the web root


def test_the_borrower_downloads_each_file_as_an_attachment(good_dispute, borrower):
    number = good_dispute["number"]
    pdf_row, jpeg_row = good_dispute["files"]

    response = borrower.client.get(f"/disputes/{number}/files/{pdf_row.id}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="evidence-{pdf_row.id}.pdf"')
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response.headers["Cache-Control"]
    assert response.data == good_dispute["kept_statement"]

    response = borrower.client.get(f"/disputes/{number}/files/{jpeg_row.id}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/jpeg"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="evidence-{jpeg_row.id}.jpg"')
    original = Image.open(io.BytesIO(good_dispute["photo"])).getexif()
    assert original.get_ifd(GPS_IFD)  # the photo did carry a location
    served = Image.open(io.BytesIO(response.data))
    assert served.format == "JPEG" and served.size == (40, 20)
    assert dict(served.getexif().get_ifd(GPS_IFD)) == {} and dict(served.getexif()) == {}
    assert b"PhoneMaker" not in response.data


def test_another_borrower_gets_404_for_the_file(good_dispute, make_person):
    number, (pdf_row, _photo) = good_dispute["number"], good_dispute["files"]
    other = make_person()
    other.sign_in(*OUTSIDER)

    response = other.client.get(f"/disputes/{number}/files/{pdf_row.id}")

    assert response.status_code == 404
    assert PDF_TEXT.encode() not in response.data and b"%PDF" not in response.data


def test_a_visitor_who_is_not_signed_in_gets_no_file(good_dispute, make_person):
    number, (pdf_row, _photo) = good_dispute["number"], good_dispute["files"]

    response = make_person().client.get(f"/disputes/{number}/files/{pdf_row.id}")

    assert response.status_code in (302, 303, 401)
    assert b"%PDF" not in response.data


def test_staff_who_work_disputes_download_and_the_view_is_recorded(good_dispute, make_person,
                                                                   staff_sign_in, db):
    number, (pdf_row, jpeg_row) = good_dispute["number"], good_dispute["files"]
    agent = make_person()
    staff_sign_in(agent, "agent@demo.test")
    viewed = select(CaseEvent).where(CaseEvent.kind == "staff.viewed_personal_data")
    before = len(db.scalars(viewed))

    response = agent.client.get(f"/staff/disputes/{number}/files/{jpeg_row.id}")

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/jpeg"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="evidence-{jpeg_row.id}.jpg"')
    assert dict(Image.open(io.BytesIO(response.data)).getexif().get_ifd(GPS_IFD)) == {}
    events = db.scalars(viewed.order_by(CaseEvent.id))
    assert len(events) == before + 1
    assert events[-1].actor_type == "staff" and events[-1].account_id is not None
    assert events[-1].data == {"view": "dispute", "dispute": number, "role": "agent"}

    response = agent.client.get(f"/staff/disputes/{number}/files/{pdf_row.id}")

    assert response.status_code == 200 and response.data == good_dispute["kept_statement"]
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert len(db.scalars(viewed)) == before + 2


def test_a_lender_may_not_download_evidence(good_dispute, make_person, staff_sign_in, db):
    number, (pdf_row, _photo) = good_dispute["number"], good_dispute["files"]
    lender = make_person()
    staff_sign_in(lender, "lender@northwind.test")
    viewed = select(CaseEvent).where(CaseEvent.kind == "staff.viewed_personal_data")
    before = len(db.scalars(viewed))

    response = lender.client.get(f"/staff/disputes/{number}/files/{pdf_row.id}")

    assert response.status_code == 403
    assert b"%PDF" not in response.data
    assert len(db.scalars(viewed)) == before


# --- too large a body ----------------------------------------------------------------------------


class Body(io.RawIOBase):
    """A multipart body of `size` bytes, made as it is read (never held in memory)."""

    def __init__(self, size: int, head: bytes):
        self.size, self.head, self.position = size, head, 0

    def readable(self):
        return True

    def seekable(self):
        return True

    def tell(self):
        return self.position

    def seek(self, offset, whence=io.SEEK_SET):
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        self.position = base + offset
        return self.position

    def readinto(self, buffer):
        count = min(len(buffer), self.size - self.position)
        chunk = (self.head[self.position:self.position + count]
                 .ljust(count, b"\x00") if count > 0 else b"")
        buffer[:count] = chunk
        self.position += count
        return count


def test_a_body_over_the_upload_limit_gets_a_clear_413_page(borrower):
    page = borrower.get(FORM)
    token = page.soup.find("input", {"name": "csrf_token"})["value"]
    boundary = "----evidence-boundary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{token}"
            f"\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"reasons\"\r\n\r\n"
            f"not_mine\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; "
            f"filename=\"huge.pdf\"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.7\n").encode()
    size = UPLOAD_LIMIT + 1

    response = borrower.client.post(
        FORM, input_stream=Body(size, head), content_length=size,
        content_type=f"multipart/form-data; boundary={boundary}")

    assert response.status_code == 413
    text = response.get_data(as_text=True)
    assert "That was too large to send." in text and "Something went wrong" not in text


def test_a_body_over_the_upload_limit_stores_nothing(borrower, db, app):
    """Eleven files of 10 MB: over the limit of the whole form, refused before any is read."""
    before = stored(db, app)
    files = [(f"page-{n}.png", png_sized(evidence.MAX_BYTES)) for n in range(11)]

    page = send(borrower, files)

    assert page.status == 413 and "That was too large to send." in page.text
    assert_nothing_stored(before, stored(db, app))


# --- PDFs are kept rewritten ---------------------------------------------------------------------


def test_a_pdf_with_a_web_link_is_stored_rewritten_with_nothing_that_acts(borrower, db, app):
    """What is stored (and served) is the rewritten file: opened from the disk and walked, it
    holds no link, action or attachment, and none of the original's bytes but the page."""
    original = pdf_link_to_the_web()
    page = send(borrower, [("statement.pdf", original)])

    assert page.status == 200 and page.h1.startswith("Your dispute D-"), page.text[:300]
    (row,) = db.scalars(select(EvidenceFile))
    with app.app_context():
        kept = storage.read(row.stored_name)
    assert kept != original and kept.startswith(b"%PDF-")
    assert not every_name(kept) & FORBIDDEN
    assert b"tracker.example" not in kept
    assert row.size == len(kept)
    served = borrower.client.get(f"/disputes/{re.search(r'D-[0-9]+', page.h1).group(0)}"
                                 f"/files/{row.id}")
    assert served.status_code == 200 and served.data == kept
