"""The one place PDFs are written (fpdf2): receipts and letters share the page set-up and the
built-in font's limits, so a fix to either reaches both."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

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


#: Noto Sans CJK from Debian's fonts-noto-cjk (.ci/run installs it): (style, file). Simplified
#: Chinese is face 2 of each collection; never committed to the repository.
CJK_FONTS = (("", Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")),
             ("B", Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc")))
CJK_FACE = 2
CJK_FAMILY = "notosanscjk"


def cjk_available() -> bool:
    """Whether the CJK font is installed here (a letter in Chinese needs it)."""
    return CJK_FONTS[0][1].is_file()


def use_cjk(document: FPDF) -> None:
    """Register Noto Sans CJK SC on `document` (its regular face; bold where installed)."""
    for style, path in CJK_FONTS:
        if path.is_file():
            document.add_font(CJK_FAMILY, style, str(path), collection_font_number=CJK_FACE)


def as_is(text: str) -> str:
    """Text for an embedded Unicode font: typography kept, nothing replaced."""
    return text


def latin1(text: str) -> str:
    """The text in the built-in fonts' Latin-1; a character they cannot show becomes '?'."""
    return text.translate(_PLAIN).encode("latin-1", "replace").decode("latin-1")


@dataclass(frozen=True)
class Face:
    """The font a document is set in, and how its text is prepared for that font."""

    family: str
    text: Callable[[str], str]
    bold: str = "B"

    def set(self, document: FPDF, bold: bool = False, size: float = 11) -> None:
        document.set_font(self.family, self.bold if bold else "", size)


#: The built-in Helvetica: English and Spanish (Latin-1), nothing embedded.
HELVETICA = Face("helvetica", latin1)


def face_for(document: FPDF, words: str) -> Face | None:
    """Helvetica where Latin-1 holds all of `words` (every text the document will show, in its
    language); else Noto Sans CJK SC, embedded in `document`; None when that is not installed
    (the caller decides: a letter is refused, a download falls back to Helvetica)."""
    if printable(words):
        return HELVETICA
    if not cjk_available():
        return None
    use_cjk(document)
    return Face(CJK_FAMILY, as_is, "B" if CJK_FONTS[1][1].is_file() else "")


def document(title: str, page_format: str = "A4", document_class: type[FPDF] = FPDF) -> FPDF:
    """A new uncompressed PDF (text PDFs are small either way, and stay searchable)."""
    pdf = document_class(format=page_format)
    pdf.set_compression(False)
    pdf.set_title(title)  # the metadata is Unicode (UTF-16) whatever the font
    pdf.set_creator("Borrower portal")
    return pdf
