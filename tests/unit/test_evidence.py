"""Evidence checks, from the bytes: what each type looks like, what each upload attack looks like
(every attack file is built here), and what is left of a photo's metadata after cleaning.

The builders at the top are shared with the upload tests that go through the borrower's form.
"""

from __future__ import annotations

import functools
import io
import os
import struct
import zipfile
import zlib

import pikepdf
import pytest
from PIL import Image
from pillow_heif import register_heif_opener

from portal.disputes import evidence
from portal.disputes.evidence import HEIC, JPEG, MAX_BYTES, MAX_FILES, PDF, PNG, Refused
from tests.fixtures.factories import sample_pdf

register_heif_opener()

GPS_IFD, EXIF_IFD, MAKER_NOTE, ORIENTATION = 0x8825, 0x8769, 0x927C, 0x0112
MAKER_SECRET = b"Apple iOS\x00maker-note-serial-C39XQ1"


# --- builders ------------------------------------------------------------------------------------


def pdf(catalog: bytes = b"<< /Type /Catalog /Pages 2 0 R >>", extra: dict | None = None,
        compressed: dict | None = None) -> bytes:
    """A PDF written by hand, with a cross-reference stream; `compressed` objects go into a
    FlateDecode'd object stream (where a byte scan of the file cannot see them)."""
    objects = {1: catalog, 2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>", **(extra or {})}
    for number in compressed or {}:
        objects.pop(number, None)
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    entries = {0: (0, 0, 0xFFFF)}
    for number, body in objects.items():
        entries[number] = (1, len(out), 0)
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    top = max([*objects, *(compressed or {})])
    if compressed:
        top += 1
        index, bodies, offset = [], [], 0
        for position, (number, body) in enumerate(compressed.items()):
            index.append(b"%d %d" % (number, offset))
            bodies.append(body + b"\n")
            offset += len(body) + 1
            entries[number] = (2, top, position)
        head = b" ".join(index) + b"\n"
        packed = zlib.compress(head + b"".join(bodies))
        entries[top] = (1, len(out), 0)
        out += (b"%d 0 obj\n<< /Type /ObjStm /N %d /First %d /Filter /FlateDecode /Length %d >>\n"
                b"stream\n" % (top, len(compressed), len(head), len(packed))
                + packed + b"\nendstream\nendobj\n")
    xref = top + 1
    entries[xref] = (1, len(out), 0)
    rows = zlib.compress(b"".join(
        bytes([kind]) + field.to_bytes(4, "big") + generation.to_bytes(3, "big")
        for kind, field, generation in (entries.get(i, (0, 0, 0)) for i in range(xref + 1))))
    start = len(out)
    out += (b"%d 0 obj\n<< /Type /XRef /Size %d /W [1 4 3] /Root 1 0 R /Filter /FlateDecode "
            b"/Length %d >>\nstream\n" % (xref, xref + 1, len(rows)) + rows
            + b"\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n" % start)
    return bytes(out)


def fpdf_document(compressed: bool = True) -> bytes:
    """A real PDF from fpdf2 (the library the receipts use), compressed as it writes by default."""
    from fpdf import FPDF

    document = FPDF()
    document.set_compression(compressed)
    document.add_page()
    document.set_font("helvetica", size=12)
    document.multi_cell(0, 10, "Account NWB-1001: I paid this in March. " * 20)
    return bytes(document.output())


JS_ACTION = b"<< /S /JavaScript /JS (app.alert\\('pwned'\\)) >>"
OPEN_JS_CATALOG = b"<< /Type /Catalog /Pages 2 0 R /OpenAction 4 0 R >>"


def pdf_with_javascript() -> bytes:
    return pdf(OPEN_JS_CATALOG, {4: JS_ACTION})


def pdf_with_hidden_javascript() -> bytes:
    """The /OpenAction's JavaScript inside a compressed object stream."""
    return pdf(OPEN_JS_CATALOG, {4: JS_ACTION}, compressed={4: JS_ACTION})


#: An action that runs JavaScript, every name spelt with #xx escapes (what a byte scan misses).
ESCAPED_JS = b"<< /S /J#61vaScript /J#53 (app.alert\\(1\\)) >>"
FILLER = 20_050


@functools.cache
def pdf_openaction_next_beyond_the_scan() -> bytes:
    """The issue's file: an /Open#41ction that only goes to page 1, whose /N#65xt runs
    JavaScript, both placed after 20,050 filler objects (beyond where the old scan looked)."""
    first = 4 + FILLER
    extra = {n: b"null" for n in range(4, first)}
    extra[first] = b"<< /S /GoTo /D [3 0 R /Fit] /N#65xt %d 0 R >>" % (first + 1)
    extra[first + 1] = ESCAPED_JS
    return pdf(b"<< /Type /Catalog /Pages 2 0 R /Open#41ction %d 0 R >>" % first, extra)


def pdf_with_page(page: bytes, extra: dict | None = None) -> bytes:
    return pdf(extra={3: page, **(extra or {})})


def pdf_link_launching() -> bytes:
    """A page whose link annotation launches a program when clicked."""
    return pdf_with_page(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Annots [4 0 R] >>",
                         {4: b"<< /Type /Annot /Subtype /Link /Rect [0 0 612 792] "
                             b"/A << /S /L#61unch /F (cmd.exe) >> >>"})


def pdf_link_to_the_web() -> bytes:
    """A page with a plain web link (Word writes these): kept, but not the link."""
    return pdf_with_page(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Annots [4 0 R] >>",
                         {4: b"<< /Type /Annot /Subtype /Link /Rect [0 0 612 792] "
                             b"/A << /S /URI /URI (https://tracker.example/opened) >> >>"})


def pdf_embedded_file_escaped() -> bytes:
    """An attached program, its names escaped and its file specification in an object stream."""
    spec = b"<< /Type /F#69lespec /F (a.exe) /E#46 << /F 6 0 R >> >>"
    return pdf(b"<< /Type /Catalog /Pages 2 0 R /Names << /Embedded#46iles 4 0 R >> >>",
               {4: b"<< /Names [(a.exe) 5 0 R] >>",
                6: b"<< /Length 2 >>\nstream\nMZ\nendstream"},
               compressed={5: spec})


def pdf_encrypted() -> bytes:
    """Encrypted with an empty user password: it opens without one, but cannot be checked."""
    out = io.BytesIO()
    with pikepdf.new() as document:
        document.add_blank_page()
        document.save(out, encryption=pikepdf.Encryption(owner="owner", user=""))
    return out.getvalue()


def pdf_needing_repair() -> bytes:
    """Its cross-reference points at the wrong place: a reader must rebuild it to read it."""
    data = bytearray(pdf())
    start = data.rindex(b"startxref\n") + len(b"startxref\n")
    end = data.index(b"\n", start)
    data[start:end] = b"%d" % (int(data[start:end]) - 7)
    return bytes(data)


@functools.cache
def pdf_deflate_bomb(megabytes: int = 80) -> bytes:
    """A page whose content stream inflates to `megabytes` MB of spaces (a few tens of KB)."""
    packer = zlib.compressobj(9)
    block = b" " * (1024 * 1024)
    packed = b"".join(packer.compress(block) for _ in range(megabytes)) + packer.flush()
    return pdf_with_page(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
                         {4: b"<< /Filter /FlateDecode /Length %d >>\nstream\n" % len(packed)
                             + packed + b"\nendstream"})


@functools.cache
def pdf_object_stream_bomb(objects: int = 300_000) -> bytes:
    """One object stream that holds `objects` tiny objects: the file is small, the parsed
    document is not (the issue's 1 MB file that made the old check allocate over 1 GB)."""
    compressed = {n: b"0" for n in range(4, 4 + objects)}
    return pdf(compressed=compressed)


def zip_archive() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("Invoice.class", b"\xca\xfe\xba\xbe" + os.urandom(64))
    return out.getvalue()


def photo_exif(orientation: int | None = None) -> Image.Exif:
    """What a phone writes: maker, model, where the photo was taken, a maker note."""
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "PhoneMaker", "Model X"
    gps = exif.get_ifd(GPS_IFD)
    gps[1], gps[2], gps[3], gps[4] = "N", (40.0, 44.0, 54.36), "W", (73.0, 59.0, 8.36)
    exif.get_ifd(EXIF_IFD)[MAKER_NOTE] = MAKER_SECRET
    if orientation:
        exif[ORIENTATION] = orientation
    return exif


def picture(width: int = 40, height: int = 20) -> Image.Image:
    """Left half blue, right half red: which way up it is can be read back."""
    image = Image.new("RGB", (width, height), (200, 20, 20))
    image.paste((20, 20, 200), (0, 0, width // 2, height))
    return image


def image_bytes(fmt: str, image: Image.Image | None = None, **options) -> bytes:
    out = io.BytesIO()
    (image or picture()).save(out, format=fmt, **options)
    return out.getvalue()


def jpeg(exif: Image.Exif | None = None) -> bytes:
    return image_bytes("JPEG", exif=exif.tobytes() if exif else b"")


def png() -> bytes:
    return image_bytes("PNG")


def heic(exif: Image.Exif | None = None, **options) -> bytes:
    return image_bytes("HEIF", exif=exif.tobytes() if exif else None, **options)


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return (struct.pack(">I", len(payload)) + kind + payload
            + struct.pack(">I", zlib.crc32(kind + payload)))


def png_sized(total: int) -> bytes:
    """A real PNG of exactly `total` bytes (the padding is a private ancillary chunk)."""
    small = png()
    after_header = 8 + 25  # signature, IHDR
    padding = total - len(small) - 12
    return small[:after_header] + png_chunk(b"prVt", b"\x00" * padding) + small[after_header:]


def png_bomb(width: int, height: int) -> bytes:
    """A 1-bit black PNG: a few kilobytes that decode to width x height pixels."""
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    rows = zlib.compressobj(9)
    row = b"\x00" * (1 + (width + 7) // 8)
    packed = b"".join(rows.compress(row) for _ in range(height)) + rows.flush()
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", packed)
            + png_chunk(b"IEND", b""))


def jpeg_claiming(width: int, height: int) -> bytes:
    """A small JPEG whose frame header claims another size."""
    data = bytearray(jpeg())
    frame = data.index(b"\xff\xc0")
    data[frame + 5:frame + 9] = struct.pack(">HH", height, width)
    return bytes(data)


IEND = png_chunk(b"IEND", b"")
HTML = b"<!DOCTYPE html><html><body><script>fetch('/staff')</script></body></html>"
SVG = (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)">'
       b"<circle r='4'/></svg>")

#: Each upload attack of the issue (and its variants): a name, the bytes, the refusal's code.
ATTACKS = {
    "pdf_openaction_javascript": ("statement.pdf", pdf_with_javascript, "active_pdf"),
    "pdf_javascript_in_object_stream": ("statement.pdf", pdf_with_hidden_javascript,
                                        "active_pdf"),
    "pdf_javascript_hex_escaped_names": (
        "statement.pdf",
        lambda: pdf(OPEN_JS_CATALOG, {4: b"<< /S /J#61vaScript /J#53 (app.alert\\(1\\)) >>"}),
        "active_pdf"),
    "pdf_launch_action": (
        "statement.pdf",
        lambda: pdf(b"<< /Type /Catalog /Pages 2 0 R /OpenAction << /S /Launch /F (cmd.exe) >> "
                    b">>"),
        "active_pdf"),
    "pdf_embedded_file": (
        "statement.pdf",
        lambda: pdf(b"<< /Type /Catalog /Pages 2 0 R /Names << /EmbeddedFiles 4 0 R >> >>",
                    {4: b"<< /Names [(a.exe) << /Type /Filespec /F (a.exe) >>] >>"}),
        "active_pdf"),
    "pdf_escaped_openaction_next_javascript_after_20050_objects": (
        "statement.pdf", pdf_openaction_next_beyond_the_scan, "active_pdf"),
    "pdf_escaped_openaction_javascript": (
        "statement.pdf", lambda: pdf(b"<< /Type /Catalog /Pages 2 0 R /Open#41ction 4 0 R >>",
                                     {4: ESCAPED_JS}), "active_pdf"),
    "pdf_embedded_file_escaped_in_object_stream": ("statement.pdf", pdf_embedded_file_escaped,
                                                   "active_pdf"),
    "pdf_link_launching_a_program": ("statement.pdf", pdf_link_launching, "active_pdf"),
    "pdf_encrypted": ("statement.pdf", pdf_encrypted, "encrypted"),
    "pdf_needing_repair": ("statement.pdf", pdf_needing_repair, "damaged"),
    "pdf_deflate_bomb": ("statement.pdf", pdf_deflate_bomb, "over_budget"),
    "pdf_object_stream_bomb": ("statement.pdf", pdf_object_stream_bomb, "over_budget"),
    "png_over_24_megapixels": ("photo.png", lambda: png_bomb(5_000, 5_000), "too_many_pixels"),
    "svg": ("drawing.svg", lambda: SVG, "type"),
    "svg_renamed_png": ("photo.png", lambda: SVG, "type"),
    "html_renamed_pdf": ("statement.pdf", lambda: HTML, "type"),
    "html_then_pdf": ("statement.pdf", lambda: HTML + pdf(), "type"),
    "pdf_html_polyglot": ("statement.pdf", lambda: pdf() + HTML, "polyglot"),
    "pdf_with_html_in_a_comment": (
        "statement.pdf", lambda: pdf().replace(b"%\xe2\xe3\xcf\xd3\n", b"%" + HTML + b"\n", 1),
        "polyglot"),
    "pdf_zip_polyglot": ("statement.pdf", lambda: pdf() + zip_archive(), "polyglot"),
    "jpeg_zip_polyglot": ("photo.jpg", lambda: jpeg() + zip_archive(), "polyglot"),
    "jpeg_zip_polyglot_ending_in_eoi": (
        "photo.jpg", lambda: jpeg() + zip_archive() + b"\xff\xd9", "polyglot"),
    "jpeg_html_polyglot": ("photo.jpg", lambda: jpeg() + HTML, "polyglot"),
    "png_trailing_bytes": ("photo.png", lambda: png() + b"trailing bytes", "polyglot"),
    "png_zip_polyglot_ending_in_iend": (
        "photo.png", lambda: png() + zip_archive() + IEND, "polyglot"),
    "over_10_mb": ("photo.png", lambda: png_sized(MAX_BYTES + 1), "too_large"),
    "empty": ("empty.pdf", lambda: b"", "empty"),
    "name_dot_dot_slash": ("../../etc/cron.d/evil.pdf", pdf, "bad_name"),
    "name_backslash": ("..\\..\\windows\\evil.pdf", pdf, "bad_name"),
    "name_nul": ("statement.pdf\x00.exe", pdf, "bad_name"),
    "name_fullwidth_solidus": ("\ufe52\ufe52\uff0fevil.pdf", pdf, "bad_name"),
    "decompression_bomb_png": ("photo.png", lambda: png_bomb(20_000, 20_000),
                               "too_many_pixels"),
    "bomb_under_pillows_limit": ("photo.png", lambda: png_bomb(7_100, 7_100),
                                 "too_many_pixels"),
    "jpeg_claiming_60000_square": ("photo.jpg", lambda: jpeg_claiming(60_000, 60_000),
                                   "too_many_pixels"),
    "truncated_pdf": ("statement.pdf", lambda: sample_pdf()[:400], "damaged"),
    "pdf_that_is_not_one": ("statement.pdf", lambda: b"%PDF-1.7\nnothing here\n%%EOF\n",
                            "damaged"),
    "truncated_png": ("photo.png", lambda: image_bytes("PNG", picture(300, 300))[:200],
                      "damaged"),
    "truncated_jpeg": ("photo.jpg", lambda: jpeg()[:300], "damaged"),
    "heif_brand_without_image": ("photo.heic", lambda: b"\x00\x00\x00\x18ftypheic" + b"\0" * 40,
                                 "damaged"),
}


# --- sniffing ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("make", "expected"), [
    pytest.param(sample_pdf, PDF, id="pdf"),
    pytest.param(fpdf_document, PDF, id="pdf_compressed"),
    pytest.param(jpeg, JPEG, id="jpeg"),
    pytest.param(png, PNG, id="png"),
    pytest.param(heic, HEIC, id="heic"),
    pytest.param(lambda: b"\x00\x00\x00\x18ftypmif1" + b"\0" * 12, HEIC, id="heif_mif1"),
    # Look-alikes: close to a signature, or another format entirely.
    pytest.param(lambda: b"%PDF1.7\n", None, id="pdf_without_dash"),
    pytest.param(lambda: b" %PDF-1.7\n", None, id="pdf_not_at_start"),
    pytest.param(lambda: HTML + pdf(), None, id="html_then_pdf"),
    pytest.param(lambda: b"\xff\xd8\x00\x10JFIF", None, id="jpeg_two_bytes"),
    pytest.param(lambda: b"\x89PNG\r\n", None, id="png_signature_cut"),
    pytest.param(lambda: b"\x89PNG\n\r\x1a\n", None, id="png_signature_mangled"),
    pytest.param(lambda: b"\x00\x00\x00\x18ftypmp42" + b"\0" * 12, None, id="mp4"),
    pytest.param(lambda: b"\x00\x00\x00\x1cftypavif" + b"\0" * 12, None, id="avif"),
    pytest.param(lambda: b"\x00\x00\x00\x18ftyphe", None, id="heic_cut"),
    pytest.param(lambda: image_bytes("GIF"), None, id="gif"),
    pytest.param(lambda: image_bytes("BMP"), None, id="bmp"),
    pytest.param(lambda: image_bytes("WEBP"), None, id="webp"),
    pytest.param(lambda: image_bytes("TIFF"), None, id="tiff"),
    pytest.param(lambda: SVG, None, id="svg"),
    pytest.param(lambda: HTML, None, id="html"),
    pytest.param(zip_archive, None, id="zip"),
    pytest.param(lambda: b"MZ\x90\x00", None, id="exe"),
    pytest.param(lambda: b"", None, id="empty"),
])
def test_sniff_reads_the_type_from_the_bytes(make, expected):
    assert evidence.sniff(make()) == expected


# --- names ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "content_type", "expected"), [
    ("statement.pdf", PDF, "statement.pdf"),
    ("Photo.JPG", JPEG, "Photo.jpg"),
    ("scan.png", JPEG, "scan.jpg"),  # the bytes decide the extension, not the name
    ("invoice.pdf.exe", PDF, "invoice.pdf.pdf"),
    ("résumé final.pdf", PDF, "résumé final.pdf"),
    ("ｆｕｌｌｗｉｄｔｈ.pdf", PDF, "fullwidth.pdf"),
    ("evil\u202egpj.pdf", PDF, "evilgpj.pdf"),  # right-to-left override taken out
    ("tab\there.pdf", PDF, "tabhere.pdf"),
    ("   .pdf", PDF, "evidence.pdf"),
    ("", PNG, "evidence.png"),
    (None, HEIC, "evidence.heic"),
    ("a" * 200 + ".pdf", PDF, "a" * 80 + ".pdf"),
])
def test_safe_name_keeps_a_plain_display_name(name, content_type, expected):
    assert evidence.safe_name(name, content_type) == expected


@pytest.mark.parametrize("name", [
    "../statement.pdf", "../../etc/passwd", "/etc/passwd", "folder/statement.pdf",
    "..\\statement.pdf", "C:\\Users\\me\\statement.pdf", "statement.pdf\x00.exe", "\x00",
    "..",
    "..\uff0fstatement.pdf",  # fullwidth solidus: "/" once normalised
    "a\uff3cb.pdf",  # fullwidth reverse solidus: "\"
    "\ufe52\ufe52\uff0fx.pdf",  # small full stops: ".."
])
def test_safe_name_refuses_a_path_or_a_nul(name):
    with pytest.raises(Refused) as refusal:
        evidence.safe_name(name, PDF)
    assert refusal.value.code == "bad_name"
    assert "folder path" in refusal.value.message


# --- accepted files ------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "make", "content_type", "stored_name"), [
    pytest.param("statement.pdf", sample_pdf, PDF, "statement.pdf", id="fpdf_plain"),
    pytest.param("statement.pdf", fpdf_document, PDF, "statement.pdf", id="fpdf_compressed"),
    pytest.param("letter.pdf", pdf, PDF, "letter.pdf", id="pdf_xref_stream"),
    pytest.param("letter.pdf", lambda: pdf(compressed={3: b"<< /Type /Page /Parent 2 0 R "
                                                          b"/MediaBox [0 0 612 792] >>"}),
                 PDF, "letter.pdf", id="pdf_object_stream"),
    pytest.param("photo.jpg", jpeg, JPEG, "photo.jpg", id="jpeg"),
    pytest.param("photo.jpeg", lambda: image_bytes("JPEG", progressive=True), JPEG, "photo.jpg",
                 id="jpeg_progressive"),
    pytest.param("photo.jpg", lambda: image_bytes("JPEG", restart_marker_blocks=2), JPEG,
                 "photo.jpg", id="jpeg_restart_markers"),
    pytest.param("photo.jpg", lambda: image_bytes("MPO", save_all=True,
                                                  append_images=[picture(20, 10)]),
                 JPEG, "photo.jpg", id="jpeg_multi_picture"),
    pytest.param("screen.png", png, PNG, "screen.png", id="png"),
    pytest.param("screen.png", lambda: image_bytes("PNG", picture().convert("P")), PNG,
                 "screen.png", id="png_palette"),
    pytest.param("photo.heic", heic, JPEG, "photo.jpg", id="heic_kept_as_jpeg"),
    pytest.param("noise.jpg", lambda: image_bytes(
        "JPEG", Image.frombytes("RGB", (256, 256), os.urandom(256 * 256 * 3)), quality=100),
        JPEG, "noise.jpg", id="jpeg_noise"),  # compressed pixels may hold any bytes, PK too
])
def test_check_accepts_real_files(name, make, content_type, stored_name):
    cleaned = evidence.check(name, make())
    assert (cleaned.content_type, cleaned.name) == (content_type, stored_name)
    assert evidence.sniff(cleaned.data) == content_type
    if content_type != PDF:
        with Image.open(io.BytesIO(cleaned.data)) as image:
            image.load()


def test_a_pdf_is_kept_rewritten_with_the_same_pages():
    data = fpdf_document()
    kept = evidence.check("statement.pdf", data).data
    assert kept != data and kept.startswith(b"%PDF-")
    with pikepdf.open(io.BytesIO(data)) as source, pikepdf.open(io.BytesIO(kept)) as copy:
        assert len(copy.pages) == len(source.pages) == 1
        assert copy.pages[0].obj.Contents.read_bytes() == source.pages[0].obj.Contents.read_bytes()
        assert copy.pages[0].MediaBox == source.pages[0].MediaBox


def test_exactly_10_mb_is_accepted_and_one_byte_more_is_not():
    exact = png_sized(MAX_BYTES)
    assert len(exact) == MAX_BYTES
    assert evidence.check("scan.png", exact).content_type == PNG
    over = png_sized(MAX_BYTES + 1)
    assert len(over) == MAX_BYTES + 1
    with pytest.raises(Refused) as refusal:
        evidence.check("scan.png", over)
    assert refusal.value.code == "too_large"
    assert refusal.value.message == "Each file must be 10 MB or smaller."


# --- refused files -------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "make", "code"), list(ATTACKS.values()), ids=list(ATTACKS))
def test_check_refuses_each_attack_with_its_reason(name, make, code):
    with pytest.raises(Refused) as refusal:
        evidence.check(name, make())
    assert refusal.value.code == code
    assert refusal.value.message.endswith(".") and len(refusal.value.message) > 15


def test_javascript_in_an_object_stream_is_invisible_to_a_byte_scan_and_still_found():
    data = pdf_with_hidden_javascript()
    assert not any(name in data for name in evidence.PDF_ACTIVE)
    with pytest.raises(Refused) as refusal:
        evidence.check("statement.pdf", data)
    assert refusal.value.code == "active_pdf"


def test_check_all_takes_ten_files_and_refuses_eleven():
    files = [(f"page-{n}.png", png()) for n in range(MAX_FILES)]
    assert len(evidence.check_all(files)) == MAX_FILES
    with pytest.raises(Refused) as refusal:
        evidence.check_all([*files, ("page-11.png", png())])
    assert refusal.value.code == "too_many"
    assert refusal.value.message == "You can attach at most 10 files."


def test_check_all_refuses_the_lot_for_one_bad_file():
    with pytest.raises(Refused) as refusal:
        evidence.check_all([("statement.pdf", sample_pdf()), ("photo.jpg", jpeg()),
                            ("evil.pdf", pdf_with_javascript())])
    assert refusal.value.code == "active_pdf"
    assert evidence.check_all([]) == []


# --- metadata ------------------------------------------------------------------------------------


def _assert_no_metadata(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    exif = image.getexif()
    assert dict(exif) == {}
    assert dict(exif.get_ifd(GPS_IFD)) == {}
    assert MAKER_NOTE not in exif.get_ifd(EXIF_IFD)
    for secret in (b"PhoneMaker", b"Model X", MAKER_SECRET, b"maker-note"):
        assert secret not in data
    return image


@pytest.mark.parametrize(("fmt", "make"), [("jpeg", jpeg), ("heic", heic)])
def test_photos_lose_location_and_maker_note(fmt, make):
    data = make(photo_exif())
    source = Image.open(io.BytesIO(data)).getexif()
    assert source.get_ifd(GPS_IFD)[1] == "N" and source[0x010F] == "PhoneMaker"
    assert source.get_ifd(EXIF_IFD)[MAKER_NOTE] == MAKER_SECRET
    cleaned = evidence.check(f"photo.{fmt}", data)
    assert cleaned.data != data
    _assert_no_metadata(cleaned.data)


def test_heic_loses_its_xmp():
    xmp = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description '
           b'exif:GPSLatitude="40,44.906N"/></rdf:RDF></x:xmpmeta>')
    data = heic(photo_exif(), xmp=xmp)
    assert Image.open(io.BytesIO(data)).info.get("xmp")
    cleaned = evidence.check("photo.heic", data).data
    assert b"GPSLatitude" not in cleaned
    assert not Image.open(io.BytesIO(cleaned)).info.get("xmp")


def test_png_loses_its_text_chunks_and_exif():
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "taken at 350 W 31st St")
    info.add_text("Location", "40.7484,-73.9857", zip=True)
    info.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta>GPSLatitude 40.7484</x:xmpmeta>")
    data = image_bytes("PNG", pnginfo=info, exif=photo_exif().tobytes())
    source = Image.open(io.BytesIO(data))
    assert source.text["Comment"] and source.getexif()[0x010F] == "PhoneMaker"
    cleaned = evidence.check("screen.png", data).data
    image = _assert_no_metadata(cleaned)
    assert image.text == {}
    for chunk in (b"tEXt", b"zTXt", b"iTXt", b"eXIf"):
        assert chunk not in cleaned
    assert b"350 W 31st" not in cleaned and b"40.7484" not in cleaned


def test_a_turned_photo_stays_upright_once_its_orientation_tag_is_gone():
    # Stored 40 x 20 with the blue half on the left; the tag says "turn 90 degrees clockwise".
    data = jpeg(photo_exif(orientation=6))
    cleaned = evidence.check("photo.jpg", data).data
    image = _assert_no_metadata(cleaned)
    assert image.size == (20, 40)
    top, bottom = image.getpixel((10, 5)), image.getpixel((10, 35))
    assert top[2] > 150 > top[0], top  # blue on top: turned the way the tag said
    assert bottom[0] > 150 > bottom[2], bottom


def test_a_turned_heic_keeps_how_it_looks():
    data = heic(photo_exif(orientation=6))
    shown = Image.open(io.BytesIO(data))
    cleaned = evidence.check("photo.heic", data).data
    image = _assert_no_metadata(cleaned)
    assert image.size == shown.size == (20, 40)
    assert image.getpixel((10, 5))[2] > 150 and image.getpixel((10, 35))[0] > 150


def test_a_pdf_with_xmp_metadata_is_not_mistaken_for_a_polyglot():
    """Word and Acrobat write an XML metadata packet into PDFs; it is not markup riding along."""
    from fpdf import FPDF

    document = FPDF()
    document.set_compression(False)
    document.add_page()
    document.set_xmp_metadata('<?xml version="1.0" encoding="UTF-8"?><x:xmpmeta '
                              'xmlns:x="adobe:ns:meta/"></x:xmpmeta>')
    document.set_font("helvetica", size=12)
    document.cell(0, 10, "Statement")
    data = bytes(document.output())
    assert b"<?xml" in data
    assert evidence.check("statement.pdf", data).content_type == "application/pdf"


@pytest.mark.parametrize(("action", "accepted"), [
    (None, True),
    ({"/S": "/GoTo", "/D": "page"}, True),
    ({"/S": "/URI", "/URI": "https://tracker.example/open"}, False),
    ({"/S": "/GoToR", "/F": "other.pdf"}, False),
])
def test_a_pdf_that_acts_when_opened_is_refused(action, accepted):
    import io

    from pypdf import PdfWriter
    from pypdf.generic import (
        ArrayObject,
        DictionaryObject,
        NameObject,
        NumberObject,
        TextStringObject,
    )

    writer = PdfWriter()
    page = writer.add_blank_page(200, 200)
    if action is not None:
        opening = DictionaryObject()
        for key, value in action.items():
            if value == "page":
                opening[NameObject(key)] = ArrayObject([page.indirect_reference,
                                                       NameObject("/Fit")])
            elif value.startswith("/"):
                opening[NameObject(key)] = NameObject(value)
            else:
                opening[NameObject(key)] = TextStringObject(value)
        writer._root_object[NameObject("/OpenAction")] = opening
    else:
        writer._root_object[NameObject("/OpenAction")] = ArrayObject(
            [page.indirect_reference, NameObject("/Fit"), NumberObject(0)])
    out = io.BytesIO()
    writer.write(out)
    if accepted:
        assert evidence.check("statement.pdf", out.getvalue()).content_type == PDF
    else:
        with pytest.raises(Refused):
            evidence.check("statement.pdf", out.getvalue())
