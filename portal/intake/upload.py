"""What the console accepts as a placement file, decided before the engine reads a row (pure)."""

from __future__ import annotations

from dataclasses import dataclass

#: The largest file the console takes (bigger files go through the command line, which streams).
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
#: The limit as people read it, in the message and on the page.
MAX_UPLOAD_TEXT = "10 MB"
#: What a spreadsheet or a lender's system calls a CSV file.
CSV_SUFFIXES = (".csv", ".txt")
#: How much of the file is looked at to tell text from a binary (a spreadsheet, a zip, a PDF).
SNIFF_BYTES = 64 * 1024
#: The first bytes of files that are surely not CSV: zip (xlsx, ods), OLE (xls), PDF, gzip.
BINARY_MAGIC = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0", b"%PDF", b"\x1f\x8b")


@dataclass(frozen=True)
class Refusal:
    """Why a file is not even read: a code for tests, and the reason staff see."""

    code: str  #: no_file, empty, too_large, not_csv


def refusal_of(filename: str | None, data: bytes | None) -> Refusal | None:
    """None when the file may go to the engine; else why not. `data` is read no further than
    one byte past MAX_UPLOAD_BYTES, so an over-long file shows as one byte too many."""
    if not filename or data is None:
        return Refusal("no_file")
    if len(data) > MAX_UPLOAD_BYTES:
        return Refusal("too_large")
    if not data.strip():
        return Refusal("empty")
    if not filename.lower().endswith(CSV_SUFFIXES) or not _looks_like_text(data):
        return Refusal("not_csv")
    return None


def _looks_like_text(data: bytes) -> bool:
    """UTF-8 text (a BOM allowed) without NUL bytes, and not a known binary format."""
    head = data[:SNIFF_BYTES]
    if head.startswith(BINARY_MAGIC) or b"\x00" in head:
        return False
    try:
        head.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        # A multi-byte character cut at the end of the sample is still text.
        return error.start >= len(head) - 3 and len(data) > SNIFF_BYTES
    return True
