"""PDF evidence is rewritten to its pages alone (no action or attachment survives, even one the
check missed), and checking evidence stays within its budget of inflated bytes and pixels, per
file and per request (issue 12)."""

from __future__ import annotations

import base64
import io
import zlib

import pikepdf
import pytest

from portal.disputes import evidence, pdfs
from portal.disputes.evidence import MB, Budget, Refused
from tests.unit.test_evidence import (
    ESCAPED_JS,
    JS_ACTION,
    OPEN_JS_CATALOG,
    fpdf_document,
    pdf,
    pdf_deflate_bomb,
    pdf_embedded_file_escaped,
    pdf_link_launching,
    pdf_link_to_the_web,
    pdf_openaction_next_beyond_the_scan,
    pdf_with_hidden_javascript,
    pdf_with_javascript,
    png,
    png_bomb,
)

#: Nothing of these may be left anywhere in a rewritten file: keys, action types, object types.
FORBIDDEN = {"/JS", "/JavaScript", "/AA", "/OpenAction", "/Next", "/A", "/URI", "/Launch",
             "/Names", "/EmbeddedFiles", "/EmbeddedFile", "/EF", "/Filespec", "/AcroForm",
             "/Annots", "/XFA", "/RichMedia", "/GoToR", "/GoToE", "/SubmitForm", "/ImportData"}


def every_name(data: bytes) -> set[str]:
    """Every name in the file, as a key or a value, in every object however deep (qpdf reads
    the #xx escapes, so /J#61vaScript is /JavaScript here)."""
    found: set[str] = set()
    with pikepdf.open(io.BytesIO(data)) as document:
        pending = [document.trailer, *document.objects]
        seen = set()
        while pending:
            obj = pending.pop()
            if isinstance(obj, pikepdf.Stream):
                obj = obj.stream_dict
            if isinstance(obj, pikepdf.Dictionary):
                found.update(obj.keys())
                children = list(obj.values())
            elif isinstance(obj, pikepdf.Array):
                children = list(obj)
            else:
                if isinstance(obj, pikepdf.Name):
                    found.add(str(obj))
                continue
            for child in children:
                if not isinstance(child, pikepdf.Object):
                    continue  # a number or a boolean, read as Python's own
                if child.is_indirect:
                    key = child.objgen
                    if key in seen:
                        continue
                    seen.add(key)
                pending.append(child)
    return found


HOSTILE = {
    "javascript_on_opening": pdf_with_javascript,
    "javascript_in_an_object_stream": pdf_with_hidden_javascript,
    "escaped_openaction_next_javascript_after_20050_objects":
        pdf_openaction_next_beyond_the_scan,
    "embedded_file_escaped_in_an_object_stream": pdf_embedded_file_escaped,
    "link_launching_a_program": pdf_link_launching,
    "link_to_the_web": pdf_link_to_the_web,
    "form_with_a_script": lambda: pdf(
        b"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [4 0 R] /XFA 5 0 R >> >>",
        {4: b"<< /FT /Tx /T (name) /AA << /K " + ESCAPED_JS + b" >> >>",
         5: b"<< /Length 7 >>\nstream\n<xdp/>\n\nendstream"}),
    "page_actions": lambda: pdf(extra={
        3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /AA << /O 4 0 R >> >>",
        4: JS_ACTION}),
}


@pytest.mark.parametrize("make", HOSTILE.values(), ids=HOSTILE)
def test_the_hostile_files_hold_what_they_should(make):
    """(The walk sees the attacks: otherwise the test below would prove nothing.)"""
    assert every_name(make()) & FORBIDDEN


@pytest.mark.parametrize("make", HOSTILE.values(), ids=HOSTILE)
def test_the_rewrite_keeps_no_action_or_attachment_even_unchecked(make):
    data = make()
    rewritten = pdfs.rewrite(data)  # straight to the rewrite: as if the check had missed it
    names = every_name(rewritten)
    assert not names & FORBIDDEN, names & FORBIDDEN
    assert b"app.alert" not in rewritten and b"cmd.exe" not in rewritten
    with pikepdf.open(io.BytesIO(rewritten)) as copy, pikepdf.open(io.BytesIO(data)) as source:
        assert len(copy.pages) == len(source.pages)
        assert set(copy.Root.keys()) <= {"/Type", "/Pages"}


def test_a_web_link_is_accepted_and_kept_without_the_link():
    cleaned = evidence.check("statement.pdf", pdf_link_to_the_web())
    assert cleaned.content_type == evidence.PDF
    assert not every_name(cleaned.data) & FORBIDDEN
    assert b"tracker.example" not in cleaned.data


def test_a_real_document_keeps_its_text_and_fonts():
    kept = evidence.check("statement.pdf", fpdf_document()).data
    with pikepdf.open(io.BytesIO(kept)) as document:
        page = document.pages[0]
        assert b"I paid this in March" in page.obj.Contents.read_bytes()
        assert "/Font" in page.Resources


# --- the budget: streams measured chunk by chunk ------------------------------------------------


def _stream(filters: bytes, body: bytes) -> bytes:
    return pdf(extra={3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
                      4: b"<< /Filter %s /Length %d >>\nstream\n" % (filters, len(body)) + body
                         + b"\nendstream"})


TEXT = b"BT /F1 12 Tf 72 712 Td (hello) Tj ET " * 100
STREAMS = [
    # (filters, encoded body, accepted within 1 MB, why)
    (b"/FlateDecode", zlib.compress(TEXT), True),
    (b"/Fl#61teDecode", zlib.compress(TEXT), True),  # the filter's name escaped
    (b"[/ASCIIHexDecode /FlateDecode]", zlib.compress(TEXT).hex().encode() + b">", True),
    (b"[/A85 /Fl]", base64.a85encode(zlib.compress(TEXT)) + b"~>", True),
    (b"/RunLengthDecode", b"\x04hello\x80", True),
    (b"/FlateDecode", zlib.compress(b" " * (2 * MB)), False),  # inflates past the allowance
    (b"[/ASCIIHexDecode /FlateDecode]", zlib.compress(b" " * (2 * MB)).hex().encode() + b">",
     False),  # the bomb under another filter
    (b"/RunLengthDecode", b"\x81 " * 20_000 + b"\x80", False),  # 128 bytes from every 2
    (b"/LZWDecode", b"\x80\x0b\x60\x50\x22\x0c\x0c\x85\x01", False),  # not measured: refused
    (b"5 0 R", zlib.compress(TEXT), False),  # an indirect /Filter: cannot be read raw
]


@pytest.mark.parametrize(("filters", "body", "accepted"), STREAMS,
                         ids=[f"{f.decode()}-{'ok' if a else 'refused'}" for f, _b, a in STREAMS])
def test_streams_are_measured_within_the_allowance(filters, body, accepted):
    data = _stream(filters, body)
    if accepted:
        assert pdfs.inflated_size(data, MB) < MB
    else:
        with pytest.raises(pdfs.Unchecked):
            pdfs.inflated_size(data, MB)


def test_the_per_file_budget_is_a_setting():
    small = Budget(inflated_per_file=4 * MB)
    with pytest.raises(Refused) as refusal:
        evidence.check_all([("statement.pdf", pdf_deflate_bomb(8))], small)
    assert refusal.value.code == "over_budget"
    assert evidence.check_all([("statement.pdf", pdf_deflate_bomb(8))])  # 8 MB: within 64


def test_pdfs_together_over_the_request_budget_are_refused():
    files = [(f"part-{n}.pdf", pdf_deflate_bomb(50)) for n in range(3)]  # 50 MB each, 150 in all
    assert evidence.check_all(files[:2])
    with pytest.raises(Refused) as refusal:
        evidence.check_all(files)
    assert refusal.value.code == "too_much_together"
    assert refusal.value.message.startswith("These files are too large to check together.")


def test_ten_big_images_are_refused_before_any_is_decoded(monkeypatch):
    decoded = []
    monkeypatch.setattr(evidence, "_check_image",
                        lambda data, content_type: decoded.append(content_type) or data)
    files = [(f"page-{n}.png", png_bomb(4_000, 3_000)) for n in range(10)]  # 12 MP each
    with pytest.raises(Refused) as refusal:
        evidence.check_all(files)
    assert refusal.value.code == "too_much_together"
    assert decoded == []
    assert len(evidence.check_all(files[:8])) == 8  # 96 MP: within 100


def test_the_pixel_budget_per_image_is_a_setting():
    small = Budget(pixels_per_image=3_999_999)
    with pytest.raises(Refused) as refusal:
        evidence.check_all([("scan.png", png_bomb(2_000, 2_000))], small)
    assert refusal.value.code == "too_many_pixels"
    assert evidence.check_all([("scan.png", png())], small)


def test_an_opening_that_shows_a_page_is_kept_and_any_other_refused():
    shows = pdf(b"<< /Type /Catalog /Pages 2 0 R /OpenAction [3 0 R /Fit] >>")
    assert evidence.check("statement.pdf", shows).content_type == evidence.PDF
    with pytest.raises(Refused):
        evidence.check("statement.pdf", pdf(OPEN_JS_CATALOG, {4: b"<< /S /URI /URI (x) >>"}))


def test_a_bomb_whose_length_is_a_reference_is_measured_to_its_end():
    packed = zlib.compress(b" " * (2 * MB))
    data = pdf(extra={
        3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
        4: b"<< /Filter /FlateDecode /Length 15 0 R >>\nstream\n" + packed + b"\nendstream",
        15: b"%d" % len(packed)})
    with pytest.raises(pdfs.Unchecked):
        pdfs.inflated_size(data, MB)
    with pytest.raises(Refused) as refusal:
        evidence.check_all([("statement.pdf", data)], Budget(inflated_per_file=MB))
    assert refusal.value.code == "over_budget"
