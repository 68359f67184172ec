"""PDFs for a borrower (or a lender) who reads Simplified Chinese (issue 17): the receipt, the
first letter, the data download and the remittance statement each embed a font with the glyphs
(Noto Sans CJK SC, from Debian's fonts-noto-cjk) and their text, extracted as a reader's PDF
viewer would, holds the Chinese words: the borrower's name and the translated labels, not
question marks."""

from __future__ import annotations

import io
import re
from datetime import date

import pikepdf
import pypdf
import pytest
from babel.support import Translations

from portal import pdf
from portal.accounts.placement import Address, Person
from portal.demo import data as demo_data
from tests.test_access import CATALOGS
from tests.test_lender_statements import _close, _settle
from tests.test_notices import _captured, _debt, _placed

WANG_FANG = ("DEMO-2001", "1990-09-02")
ZH = Translations.load(CATALOGS, ["zh_Hans_CN"])
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(autouse=True)
def _font_installed():
    assert pdf.cjk_available(), "apt-get install fonts-noto-cjk (README, set-up; .ci/run does it)"


def zh(message: str, **values) -> str:
    """`message` as the Chinese catalog translates it, asserted to be Chinese (a message the
    catalog lacks would come back in English and prove nothing)."""
    translated = ZH.gettext(message) % values if values else ZH.gettext(message)
    assert CJK.search(translated), f"{message!r} is not translated in the zh catalog"
    return translated


def embedded_fonts(document: bytes) -> set[str]:
    """The names of the fonts whose program is embedded in the PDF (a FontFile stream in their
    descriptor, or their descendant's), on any page."""
    names = set()
    with pikepdf.open(io.BytesIO(document)) as opened:
        for page in opened.pages:
            fonts = page.obj.get("/Resources", {}).get("/Font", {})
            for font in fonts.values():
                for face in [font, *font.get("/DescendantFonts", [])]:
                    descriptor = face.get("/FontDescriptor")
                    if descriptor is None:
                        continue
                    programs = [descriptor.get(k) for k in ("/FontFile", "/FontFile2",
                                                           "/FontFile3")]
                    if any(p is not None and len(p.read_bytes()) > 1000 for p in programs):
                        names.add(str(face.get("/BaseFont")))
    return names


def text_of(document: bytes) -> str:
    """The text a PDF viewer extracts, without the spaces pypdf pads a CID font's glyphs with."""
    words = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(document)).pages)
    return words.replace("\x00", "").replace(" ", "").replace("\n", "")


def assert_in_chinese(document: bytes, *words: str) -> None:
    fonts = embedded_fonts(document)
    assert any("NotoSansCJK" in name for name in fonts), f"no CJK font embedded: {fonts}"
    text = text_of(document)
    assert "?" * 2 not in text, f"question marks in place of glyphs: {text[:300]}"
    for word in words:
        assert word.replace(" ", "") in text, f"{word!r} not in the PDF's text: {text[:600]}"


def test_the_receipt_of_a_chinese_reader_is_in_chinese(person, demo, make_payment):
    payment = make_payment("JRF-2001", 50_000, "succeeded")
    person.sign_in(*WANG_FANG)
    response = person.client.get(f"/payments/{payment.public_id}/receipt.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert_in_chinese(response.get_data(), zh("Payment receipt"), zh("Amount paid"),
                      zh("Balance after this payment"), "JRF-2001", "CNY500.00",
                      zh("We never charge a fee for paying online."))


def test_the_data_download_of_a_chinese_reader_names_her_in_chinese(person, demo):
    person.sign_in(*WANG_FANG)
    response = person.client.get("/your-data/download.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    name = next(p.display_name for p in demo_data.people() if p.reference == WANG_FANG[0])
    assert "王芳" in name
    assert_in_chinese(response.get_data(), "王芳", name, zh("Everything we hold about you"),
                      zh("Your accounts"), zh("Your case history"), "朝阳区建国路")


def test_the_data_download_in_chinese_embeds_the_font_for_latin_data_too(person, demo):
    """A borrower whose own details are all Latin letters, reading Chinese: the headings and the
    case history are in Chinese, in the embedded font, with her Latin name beside them."""
    person.sign_in("DEMO-1001", "1985-04-12")
    person.client.post("/language", data={"lang": "zh", "csrf_token": person.csrf_token(),
                                          "next": "/your-data/"})
    response = person.client.get("/your-data/download.pdf")
    assert_in_chinese(response.get_data(), "AlexRivera", zh("Your accounts"), zh("Payments"))


def test_the_first_letter_to_a_chinese_borrower_is_printed_in_chinese(db, demo, client):
    wang = Person("NTC-ZH", "芳", "王", "王芳", date(1990, 9, 2),
                  Address("朝阳区建国路 88 号", "北京", "BJ", "100022", "CN"),
                  phones=[], emails=["wf@example.com"], language="zh")
    _placed(db, person=wang, debt=_debt("JRF-9002", "CNY"), creditor="JRF")
    (letter,) = _captured(db, "letter")
    assert CJK.search(letter.subject), letter.subject
    printed = client.get(f"/dev/messages/{letter.id}/letter.pdf")
    assert printed.status_code == 200 and printed.content_type == "application/pdf"
    assert_in_chinese(printed.data, "王芳", "朝阳区建国路88号", letter.subject, "¥1,000.50")


def test_a_lenders_statement_read_in_chinese_is_in_chinese(db, demo, make_payment, person,
                                                            staff_sign_in):
    paid = make_payment("NWB-1002", 10_001, "succeeded")
    _settle(db, paid, "2026-09-10T12:00:00", "2026-09-12T00:00:00")
    closed = _close(db, "2026-09")
    staff_sign_in(person, "lender@northwind.test")
    person.client.post("/language", data={"lang": "zh", "csrf_token": person.csrf_token(),
                                          "next": "/lender/statements"})
    document = person.client.get(f"/lender/statements/{closed.id}.pdf")
    assert document.status_code == 200
    assert_in_chinese(document.data, zh("Remittance statement %(period)s", period="2026-09"),
                      zh("Account"), zh("Remitted"), "NWB-1002", "75.01")


def test_english_and_spanish_pdfs_embed_no_font(person, demo, make_payment):
    """Latin-1 is enough for them: the built-in Helvetica, nothing embedded (small files)."""
    payment = make_payment("NWB-1002", 5_000, "succeeded")
    person.sign_in("DEMO-1002", "1979-07-30")  # María López reads Spanish
    document = person.client.get(f"/payments/{payment.public_id}/receipt.pdf").get_data()
    assert embedded_fonts(document) == set()
    es = Translations.load(CATALOGS, ["es"])
    assert es.gettext("Payment receipt") != "Payment receipt"
    assert es.gettext("Payment receipt").replace(" ", "") in text_of(document)


def test_without_the_font_a_download_falls_back_and_a_letter_is_refused(monkeypatch, tmp_path):
    """The font missing (fonts-noto-cjk not installed): no face for Chinese, which the letter
    turns into a refusal (tests/test_letters.py) and a download into Helvetica."""
    from fpdf import FPDF

    monkeypatch.setattr(pdf, "CJK_FONTS", (("", tmp_path / "none.ttc"),
                                           ("B", tmp_path / "none-bold.ttc")))
    assert pdf.face_for(FPDF(), "王芳") is None
    assert pdf.face_for(FPDF(), "María López") is pdf.HELVETICA


def test_the_title_metadata_keeps_chinese():
    document = pdf.document("付款收据 R-1")
    document.add_page()
    reader = pypdf.PdfReader(io.BytesIO(bytes(document.output())))
    assert reader.metadata.title == "付款收据 R-1"

