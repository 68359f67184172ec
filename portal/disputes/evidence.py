"""What evidence a borrower may upload, judged from the bytes, never the name; and images cleaned
of their metadata (a phone photo carries where it was taken). No Flask, no database.

Accepted: PDF, JPEG, PNG, HEIC (kept as a JPEG); at most 10 files of 10 MB each. Refused, with a
reason a person can act on: anything else (SVG, HTML, a renamed file), a PDF that can run code
(JavaScript, launch actions, embedded files, forms that script) or that cannot be checked whole
(encrypted, damaged), a file that is two formats at once (a polyglot), a file or a request that
would decode to more than the budget allows (`Budget`), a name with a path or a NUL in it. An
accepted PDF is kept as `pdfs.rewrite` writes it again: its pages only.
"""

from __future__ import annotations

import io
import re
import unicodedata
import warnings
from dataclasses import dataclass, field

from PIL import Image, ImageOps, UnidentifiedImageError
from pillow_heif import register_heif_opener

from portal.disputes import pdfs

MAX_FILES = 10
MAX_BYTES = 10 * 1024 * 1024
MB = 1024 * 1024


def N_(text: str) -> str:  # noqa: N802 - the conventional gettext no-op marker
    """Mark a message for the catalog; the service translates it when it refuses."""
    return text


@dataclass(frozen=True)
class Budget:
    """What checking one upload may decode, per file and per request (config EVIDENCE_*).

    The defaults keep the check of the worst file we can build under 256 MB of memory (README,
    "Disputes"; bench/evidence.py): a PDF may inflate to 64 MB (a scanned 300-page statement
    inflates to about 10 MB), and the files of one request to 128 MB. An image may hold 24
    megapixels (a 12 MP phone photo; a 24 MP camera or a recent phone's default): Pillow holds 4
    bytes a pixel, twice over while a photo is turned upright, so 40 MP measured 308 MB and 24 MP
    stays near 200. Ten photos may hold 100 MP together; each is decoded and let go in turn."""

    inflated_per_file: int = 64 * MB
    inflated_per_request: int = 128 * MB
    pixels_per_image: int = 24_000_000
    pixels_per_request: int = 100_000_000


@dataclass
class Spent:
    """What the files of one request have used of the budget so far."""

    budget: Budget = field(default_factory=Budget)
    inflated: int = 0
    pixels: int = 0


#: Pixels an image may decode to by default (a 12 MP phone photo is 12,000,000): beyond it, a bomb.
MAX_PIXELS = Budget().pixels_per_image

PDF, JPEG, PNG, HEIC = "application/pdf", "image/jpeg", "image/png", "image/heic"
EXTENSIONS = {PDF: "pdf", JPEG: "jpg", PNG: "png", HEIC: "heic"}
#: What a type is kept as. A HEIC photo is written out again as a JPEG: encoding HEIF again took
#: 25 s and 283 MB for one 12 MP photo (bench/evidence.py), a JPEG well under a second; and a
#: browser can show staff a JPEG, not a HEIC.
KEPT_AS = {HEIC: JPEG}
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
        raise Refused("bad_name", N_("A file name may not contain a folder path. Rename the file "
                                     "and try again."))
    text = "".join(c for c in text if unicodedata.category(c)[0] not in "CZ" or c == " ")
    stem = text.rsplit(".", 1)[0][:80].strip() or "evidence"
    return f"{stem}.{EXTENSIONS[content_type]}"


ACTIVE_PDF = N_("This PDF contains scripts or attachments, which we cannot accept. Print it to "
                "a new PDF, or send a photo instead.")
DAMAGED_PDF = N_("This PDF looks damaged or incomplete. Save it again and retry.")
#: Why a PDF could not be checked (pdfs.Unchecked's code): the code we answer, and the text.
PDF_REFUSALS = {
    "active": ("active_pdf", ACTIVE_PDF),
    "damaged": ("damaged", DAMAGED_PDF),
    "encrypted": ("encrypted", N_("This PDF is locked with a password or encryption, so we "
                                  "cannot check it. Save or print it to a new PDF without a "
                                  "password and try again.")),
    "unchecked": ("unchecked", N_("This PDF uses a kind of compression we cannot check. Print "
                                  "it to a new PDF, or send a photo instead.")),
    "inflates_too_much": ("over_budget", N_("This PDF is too large to check once unpacked. "
                                            "Print it to a new PDF with fewer pages, or send "
                                            "photos instead.")),
    "too_complex": ("over_budget", N_("This PDF is too large to check once unpacked. Print it "
                                      "to a new PDF with fewer pages, or send photos instead.")),
}
TOO_MUCH_TOGETHER = N_("These files are too large to check together. Send fewer or smaller files "
                       "at a time.")
TOO_MANY_PIXELS = N_("This image is too large to open safely. Take a smaller photo and try again.")


def _pdf(data: bytes, spent: Spent) -> bytes:
    """The PDF as it will be kept (rewritten), once checked whole within the budget."""
    if b"%%EOF" not in data[-2048:]:
        raise Refused("damaged", DAMAGED_PDF)
    if any(name in data for name in PDF_ACTIVE):
        raise Refused("active_pdf", ACTIVE_PDF)
    budget = spent.budget
    left = budget.inflated_per_request - spent.inflated
    allowance = min(budget.inflated_per_file, left)
    try:
        rewritten, inflated = pdfs.check(data, allowance)
    except pdfs.Unchecked as refusal:
        code, message = PDF_REFUSALS[refusal.code]
        if code == "over_budget" and allowance < budget.inflated_per_file:
            code, message = "too_much_together", TOO_MUCH_TOGETHER
        raise Refused(code, message) from None
    spent.inflated += inflated
    return rewritten


def _open_image(data: bytes, content_type: str):
    """The image, opened lazily: its size read from the header, no pixel decoded yet."""
    if content_type == HEIC:
        register_heif_opener()
    return Image.open(io.BytesIO(data))


def _pixels(data: bytes, content_type: str, spent: Spent) -> None:
    """Count the image's pixels (from its header) against the budget, before decoding any."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with _open_image(data, content_type) as image:
                width, height = image.size
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise Refused("too_many_pixels", TOO_MANY_PIXELS) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError):
        raise Refused("damaged", N_("This image looks damaged. Save it again and retry.")) from None
    if width * height > spent.budget.pixels_per_image:
        raise Refused("too_many_pixels", TOO_MANY_PIXELS)
    spent.pixels += width * height
    if spent.pixels > spent.budget.pixels_per_request:
        raise Refused("too_much_together", TOO_MUCH_TOGETHER)


def _check_image(data: bytes, content_type: str) -> bytes:
    """Decode the image safely (its pixels already counted) and write it out again without
    metadata."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = _open_image(data, content_type)
            image.load()
            if content_type in (JPEG, PNG):
                _refuse_trailing(data, content_type, image)
            # Upright once the tag is gone; in place, so no second copy when there is no tag.
            ImageOps.exif_transpose(image, in_place=True)
    except Refused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise Refused("too_many_pixels", TOO_MANY_PIXELS) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError):
        raise Refused("damaged", N_("This image looks damaged. Save it again and retry.")) from None
    image.info = {}  # EXIF (location, device), XMP, ICC comments: none of it goes along
    image.getexif().clear()  # (the copy Pillow read while turning the image upright too)
    out = io.BytesIO()
    if content_type in (JPEG, HEIC):
        # (convert copies even to its own mode: only when it must, or the pixels are held twice)
        (image if image.mode == "RGB" else image.convert("RGB")).save(out, format="JPEG",
                                                                      quality=90)
    else:
        image.save(out, format="PNG")  # no text chunks, no EXIF: only the pixels
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
        raise Refused("polyglot", N_("This file contains something besides the image. Save the "
                                     "image again (for example, take a screenshot) and retry."))


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


def _screen(name: str | None, data: bytes) -> tuple[str, str]:
    """The file's type and display name, from what can be judged without decoding anything."""
    if len(data) > MAX_BYTES:
        raise Refused("too_large", N_("Each file must be 10 MB or smaller."))
    if not data:
        raise Refused("empty", N_("This file is empty."))
    content_type = sniff(data)
    if content_type is None:
        raise Refused("type", N_("We accept PDF, JPEG, PNG and HEIC files only."))
    display = safe_name(name, KEPT_AS.get(content_type, content_type))
    # In an image, only markup counts: a ZIP header can occur by chance inside compressed pixels,
    # and a file appended after the image is caught by the trailing-bytes check.
    patterns = FOREIGN if content_type == PDF else FOREIGN[:1]
    if any(pattern.search(data) for pattern in patterns):
        raise Refused("polyglot", N_("This file contains another kind of file inside it, which we "
                                     "cannot accept. Save it again as a plain PDF or photo."))
    return content_type, display


def check(name: str | None, data: bytes, spent: Spent | None = None) -> Cleaned:
    """Accept one file (cleaned, a PDF rewritten) or raise Refused with why."""
    spent = spent or Spent()
    content_type, display = _screen(name, data)
    if content_type == PDF:
        return Cleaned(PDF, display, _pdf(data, spent))
    _pixels(data, content_type, spent)
    return Cleaned(KEPT_AS.get(content_type, content_type), display,
                   _check_image(data, content_type))


def check_all(files: list[tuple[str | None, bytes]], budget: Budget | None = None
              ) -> list[Cleaned]:
    """Every file accepted, or Refused for the first that is not (so nothing is kept). Every
    image's size is counted from its header before any is decoded: ten huge photos are refused
    before the first costs anything."""
    if len(files) > MAX_FILES:
        raise Refused("too_many", N_("You can attach at most 10 files."))
    spent = Spent(budget or Budget())
    screened = [_screen(name, data) for name, data in files]
    for (content_type, _display), (_name, data) in zip(screened, files, strict=True):
        if content_type != PDF:
            _pixels(data, content_type, spent)
    cleaned = []
    for (content_type, display), (_name, data) in zip(screened, files, strict=True):
        kept = _pdf(data, spent) if content_type == PDF else _check_image(data, content_type)
        cleaned.append(Cleaned(KEPT_AS.get(content_type, content_type), display, kept))
    return cleaned
