"""What evidence a borrower may upload, judged from the bytes, never the name; and images cleaned
of their metadata (a phone photo carries where it was taken). No Flask, no database.

Accepted: PDF, JPEG, PNG, HEIC; at most 10 files of 10 MB each. Refused, with a reason a person
can act on: anything else (SVG, HTML, a renamed file), a PDF that can run code (JavaScript, launch
actions, embedded files, forms that script), a file that is two formats at once (a polyglot), an
image whose pixel count would explode when decoded, a name with a path or a NUL in it.
"""

from __future__ import annotations

import io
import re
import unicodedata
import warnings
from dataclasses import dataclass

MAX_FILES = 10
MAX_BYTES = 10 * 1024 * 1024
#: Pixels an image may decode to (a 12 MP phone photo is 12,000,000): beyond it, a bomb.
MAX_PIXELS = 50_000_000

PDF, JPEG, PNG, HEIC = "application/pdf", "image/jpeg", "image/png", "image/heic"
EXTENSIONS = {PDF: "pdf", JPEG: "jpg", PNG: "png", HEIC: "heic"}
HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}
#: PDF names that make a document do something when opened (or carry other files).
PDF_ACTIVE = (b"/JavaScript", b"/JS", b"/Launch", b"/EmbeddedFile", b"/RichMedia", b"/XFA",
              b"/AA", b"/SubmitForm", b"/ImportData", b"/GoToE", b"/GoToR")
#: Bytes that mean another format is hiding inside (HTML, SVG, scripts, ZIP/JAR/Office).
FOREIGN = (re.compile(rb"<\s*(html|script|svg|body|iframe|!doctype)", re.I),
           re.compile(rb"PK\x03\x04"))


class Refused(ValueError):
    """Why a file may not be kept; `code` is stable, the text is for the borrower (an msgid)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Cleaned:
    """An accepted file as it will be stored: its type, a safe name, and its (cleaned) bytes."""

    content_type: str
    name: str
    data: bytes


def sniff(data: bytes) -> str | None:
    """The type the bytes say, or None."""
    if data.startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if len(data) >= 12 and data[4:8] == b"ftyp" and data[8:12] in HEIF_BRANDS:
        return HEIC
    return None


def safe_name(name: str | None, content_type: str) -> str:
    """A display name without any path, refused if it tries to name one (or hides a NUL)."""
    raw = name or ""
    text = unicodedata.normalize("NFKC", raw).strip()
    # Both spellings: NFKC turns a fullwidth solidus or a small full stop into "/" or ".".
    if any("\x00" in t or "/" in t or "\\" in t or ".." in t for t in (raw, text)):
        raise Refused("bad_name", "A file name may not contain a folder path. Rename the file "
                                  "and try again.")
    text = "".join(c for c in text if unicodedata.category(c)[0] not in "CZ" or c == " ")
    stem = text.rsplit(".", 1)[0][:80].strip() or "evidence"
    return f"{stem}.{EXTENSIONS[content_type]}"


def _check_pdf(data: bytes) -> None:
    tail = data[-2048:]
    if b"%%EOF" not in tail:
        raise Refused("damaged", "This PDF looks damaged or incomplete. Save it again and retry.")
    if any(name in data for name in PDF_ACTIVE):
        raise Refused("active_pdf", "This PDF contains scripts or attachments, which we cannot "
                                    "accept. Print it to a new PDF, or send a photo instead.")
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = PdfReader(io.BytesIO(data), strict=False)
            # An action run on opening (a web address to call, another file) is refused; opening
            # at a page ([page /Fit], or a plain GoTo) is what most PDFs do and is fine.
            opening = reader.trailer["/Root"].get("/OpenAction")
            opening = opening.get_object() if opening is not None else None
            if hasattr(opening, "get") and opening.get("/S") not in (None, "/GoTo"):
                raise Refused("active_pdf", "This PDF contains scripts or attachments, "
                                            "which we cannot accept. Print it to a new PDF, "
                                            "or send a photo instead.")
            # Names inside compressed object streams are invisible to the byte scan above.
            for object_id in _object_ids(reader):
                text = repr(reader.get_object(object_id)).encode("latin-1", "replace")
                if any(name in text for name in PDF_ACTIVE):
                    raise Refused("active_pdf", "This PDF contains scripts or attachments, "
                                                "which we cannot accept. Print it to a new PDF, "
                                                "or send a photo instead.")
    except Refused:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, RecursionError,
            OSError):
        raise Refused("damaged", "This PDF looks damaged or incomplete. Save it again and "
                                 "retry.") from None


def _object_ids(reader) -> list[int]:
    ids = set()
    for generations in reader.xref.values():
        ids.update(generations)
    ids.update(reader.xref_objStm)
    return sorted(ids)[:20_000]


def _check_image(data: bytes, content_type: str) -> bytes:
    """Decode the image safely and write it out again without metadata."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    if content_type == HEIC:
        from pillow_heif import register_heif_opener

        register_heif_opener()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise Refused("too_many_pixels", "This image is too large to open safely. "
                                                 "Take a smaller photo and try again.")
            image.load()
            if content_type in (JPEG, PNG):
                _refuse_trailing(data, content_type, image)
            image = ImageOps.exif_transpose(image)  # keep it upright once the tag is gone
    except Refused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise Refused("too_many_pixels", "This image is too large to open safely. Take a "
                                         "smaller photo and try again.") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError):
        raise Refused("damaged", "This image looks damaged. Save it again and retry.") from None
    image.info = {}  # EXIF (location, device), XMP, ICC comments: none of it goes along
    out = io.BytesIO()
    if content_type == JPEG:
        image.convert("RGB").save(out, format="JPEG", quality=90)
    elif content_type == PNG:
        image.save(out, format="PNG")  # no text chunks, no EXIF: only the pixels
    else:
        image.save(out, format="HEIF", quality=90)
    return out.getvalue()


def _refuse_trailing(data: bytes, content_type: str, image) -> None:
    """Bytes after the image's own end are another file riding along (a polyglot). The end is
    found by walking the format's structure: searching for the last end marker would let a file
    that ends with one more marker (a ZIP, then IEND or FF D9) through."""
    if content_type == PNG:
        end = _png_end(data)
    else:
        end = _jpeg_end(data, 0)
        while end is not None and data.startswith(b"\xff\xd8\xff", end):
            end = _jpeg_end(data, end)  # the further pictures of a multi-picture (MPF) photo
    extra = data[end:] if end is not None else b""
    if extra.strip(b"\x00\r\n "):
        raise Refused("polyglot", "This file contains something besides the image. Save the "
                                  "image again (for example, take a screenshot) and retry.")


def _png_end(data: bytes) -> int | None:
    """Where the PNG's IEND chunk ends (chunk by chunk from the signature), or None."""
    position = 8
    while position + 12 <= len(data):
        length = int.from_bytes(data[position:position + 4], "big")
        kind = data[position + 4:position + 8]
        position += 12 + length
        if kind == b"IEND":
            return position
    return None


def _jpeg_end(data: bytes, start: int) -> int | None:
    """Where the JPEG that starts at `start` ends (segment by segment, through the entropy-coded
    data after each scan, to its EOI marker), or None."""
    position = start + 2
    while position + 1 < len(data):
        if data[position] != 0xFF:
            return None
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker == 0xD9:
            return position + 2
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:
            position += 2
            continue
        position += 2 + int.from_bytes(data[position + 2:position + 4], "big")
        if marker == 0xDA:  # a scan: entropy-coded bytes up to the next real marker
            while True:
                position = data.find(b"\xff", position)
                if position < 0 or position + 1 >= len(data):
                    return None
                follower = data[position + 1]
                if follower == 0x00 or 0xD0 <= follower <= 0xD7 or follower == 0xFF:
                    position += 1 if follower == 0xFF else 2
                    continue
                break
    return None


def check(name: str | None, data: bytes) -> Cleaned:
    """Accept one file (cleaned) or raise Refused with why."""
    if len(data) > MAX_BYTES:
        raise Refused("too_large", "Each file must be 10 MB or smaller.")
    if not data:
        raise Refused("empty", "This file is empty.")
    content_type = sniff(data)
    if content_type is None:
        raise Refused("type", "We accept PDF, JPEG, PNG and HEIC files only.")
    display = safe_name(name, content_type)
    # In an image, only markup counts: a ZIP header can occur by chance inside compressed pixels,
    # and a file appended after the image is caught by the trailing-bytes check.
    patterns = FOREIGN if content_type == PDF else FOREIGN[:1]
    if any(pattern.search(data) for pattern in patterns):
        raise Refused("polyglot", "This file contains another kind of file inside it, which we "
                                  "cannot accept. Save it again as a plain PDF or photo.")
    if content_type == PDF:
        _check_pdf(data)
        return Cleaned(PDF, display, data)
    return Cleaned(content_type, display, _check_image(data, content_type))


def check_all(files: list[tuple[str | None, bytes]]) -> list[Cleaned]:
    """Every file accepted, or Refused for the first that is not (so nothing is kept)."""
    if len(files) > MAX_FILES:
        raise Refused("too_many", "You can attach at most 10 files.")
    return [check(name, data) for name, data in files]
