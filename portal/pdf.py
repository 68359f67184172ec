"""The one place PDFs are written (fpdf2): receipts and letters share the page set-up and the
built-in font's limits, so a fix to either reaches both."""

from __future__ import annotations

from fpdf import FPDF

#: Typography the built-in fonts lack, spelled with what they have (Latin-1).
_PLAIN = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-",
                        "•": "*", "…": "...", "\u00a0": " ", "\u202f": " "})


def printable(text: str) -> bool:
    """Whether the built-in fonts can show every character (Latin-1: English, Spanish; not
    Chinese, whose font issue 17 embeds)."""
    try:
        text.translate(_PLAIN).encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


def latin1(text: str) -> str:
    """The text in the built-in fonts' Latin-1; a character they cannot show becomes '?'."""
    return text.translate(_PLAIN).encode("latin-1", "replace").decode("latin-1")


def document(title: str, page_format: str = "A4", document_class: type[FPDF] = FPDF) -> FPDF:
    """A new uncompressed PDF (text PDFs are small either way, and stay searchable)."""
    pdf = document_class(format=page_format)
    pdf.set_compression(False)
    pdf.set_title(latin1(title))
    pdf.set_creator("Borrower portal")
    return pdf
