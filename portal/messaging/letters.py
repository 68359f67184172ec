"""Letters: a message for the post, rendered to a PDF and left for a print vendor, one file per
outgoing id, so a retry never prints a letter twice.

The print vendor here is a folder (`PRINT_VENDOR_DIR`, a share the vendor collects from): for
each letter `<id>.pdf` and then `<id>.json`, the manifest, which says the letter is complete
(pages, SHA-256, no personal data: the address is only in the PDF). Both are written under a
hidden temporary name and renamed, so the vendor never sees half a file; it takes a letter when
its manifest is there and ignores names starting with a dot. No HTTP print vendor's API is
implemented: `adapter_from_config` is where one would be chosen.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path

from babel.dates import format_date
from fpdf import FPDF

from portal import pdf
from portal.accounts import postal
from portal.messaging import layout
from portal.messaging.envelope import Adapter, Envelope, Permanent, Sent, Transient

PROVIDER = "print-folder"
#: Where the window of a window envelope shows the address, from the sheet's top left (mm):
#: inside both a US #10 envelope's window and a DL one's (DIN 5008 form B).
ADDRESS_AT = (22.0, 50.0)
MARGIN = 20.0


class _Letter(FPDF):
    """A page-numbered letter: "n/total" in the footer, in no language at all."""

    def footer(self) -> None:
        self.set_y(-15)
        self.set_font("helvetica", size=8)
        self.cell(0, 10, f"{self.page_no()}/{{nb}}", align="C")


def _face_for(document: FPDF, words: str) -> pdf.Face:
    """Helvetica where Latin-1 is enough; Noto Sans CJK (embedded) for Chinese, when installed."""
    face = pdf.face_for(document, words)
    if face is None:
        # Question marks in place of a borrower's words would be worse than no letter.
        raise Permanent("unprintable", "the letter needs characters the installed fonts lack")
    return face


def render(envelope: Envelope, on: date) -> tuple[bytes, int]:
    """The letter as a PDF, and its number of pages: the agency's return address, the borrower's
    address where the envelope's window shows it, the date in the borrower's language, the
    subject and the text, over as many pages as it takes."""
    words = "\n".join((envelope.sender, envelope.to, envelope.subject, envelope.text))
    address = [line for line in envelope.to.splitlines() if line.strip()]
    document = pdf.document(envelope.subject, postal.paper(address), _Letter)
    face = _face_for(document, words)
    document.set_margins(MARGIN, MARGIN, MARGIN)
    document.set_auto_page_break(True, margin=25)
    document.add_page()
    face.set(document, size=9)
    for line in envelope.sender.splitlines():
        document.cell(0, 4.5, face.text(line), new_x="LMARGIN", new_y="NEXT")
    document.set_xy(*ADDRESS_AT)
    face.set(document, size=11)
    for line in address:
        document.cell(0, 5.5, face.text(line), new_x="LEFT", new_y="NEXT")
    document.set_xy(MARGIN, 90)
    document.cell(0, 6, face.text(format_date(on, "long", locale=envelope.language)),
                  align="R", new_x="LMARGIN", new_y="NEXT")
    document.ln(6)
    face.set(document, bold=True, size=12)
    document.multi_cell(0, 6, face.text(envelope.subject), new_x="LMARGIN", new_y="NEXT")
    document.ln(4)
    face.set(document, size=11)
    BODIES.get(envelope.kind, _plain)(document, face, envelope.text)
    return bytes(document.output()), document.pages_count


def _plain(document: FPDF, face: pdf.Face, text: str) -> None:
    """Paragraphs split on blank lines."""
    for paragraph in text.split("\n\n"):
        document.multi_cell(0, 5.5, face.text(paragraph), new_x="LMARGIN", new_y="NEXT")
        document.ln(3)


#: Width of a table's amount column (mm).
AMOUNT_WIDTH = 45.0


def _laid_out(document: FPDF, face: pdf.Face, text: str) -> None:
    """A notice laid out as its form is (`layout.blocks`): headings, a table with the amounts
    aligned right, drawn tick boxes (a model form's own layout)."""
    for block in layout.blocks(text):
        if block.kind == "heading":
            face.set(document, bold=True, size=11)
            document.multi_cell(0, 6, face.text(block.text), new_x="LMARGIN", new_y="NEXT")
            face.set(document, size=10)
            document.ln(1)
            continue
        if block.kind == "table":
            _table(document, face, block.rows)
        elif block.kind == "checks":
            for item, _amount in block.rows:
                x, y = document.get_x(), document.get_y()
                document.rect(x + 1, y + 1, 3.5, 3.5)
                document.set_x(x + 7)
                document.multi_cell(0, 5.5, face.text(item), new_x="LMARGIN", new_y="NEXT")
        else:
            face.set(document, size=10)
            document.multi_cell(0, 5, face.text(block.text), new_x="LMARGIN", new_y="NEXT")
        document.ln(2.5)


def _table(document: FPDF, face: pdf.Face, rows: Sequence[tuple[str, str]]) -> None:
    """Label and amount rows, ruled, the last (the total) in bold."""
    label_width = document.epw - AMOUNT_WIDTH
    for n, (label, amount) in enumerate(rows):
        face.set(document, bold=n == len(rows) - 1, size=10)
        document.cell(label_width, 6.5, face.text(label), border="B")
        document.cell(AMOUNT_WIDTH, 6.5, face.text(amount), border="B", align="R",
                      new_x="LMARGIN", new_y="NEXT")
    face.set(document, size=10)


#: How each kind's text is laid out: the notices of issue 14 carry a table and tick boxes.
BODIES: dict[str, Callable[[FPDF, pdf.Face, str], None]] = {
    kind: _laid_out for kind in layout.LAID_OUT}


class FolderPrintVendor:
    """Leaves each letter in a folder the print vendor collects from."""

    name = PROVIDER

    def __init__(self, folder: Path, today: Callable[[], date] | None = None):
        self.folder = Path(folder)
        self.today = today or (lambda: datetime.now(UTC).date())

    def paths(self, letter_id: int) -> tuple[Path, Path]:
        """The letter's PDF and its manifest (the file name is the outgoing id)."""
        return self.folder / f"{letter_id}.pdf", self.folder / f"{letter_id}.json"

    def send(self, envelope: Envelope) -> Sent:
        if envelope.channel != "letter":
            raise Permanent("wrong_channel",
                            f"a print vendor sends letters, not {envelope.channel}")
        if not envelope.to.strip():
            raise Permanent("no_address", "the letter has no postal address")
        letter, manifest = self.paths(envelope.id)
        sent = Sent(PROVIDER, str(envelope.id))
        if manifest.exists():
            return sent  # left here before (a retry after a crash): never a second copy
        document, pages = render(envelope, self.today())
        described = {"id": envelope.id, "kind": envelope.kind, "language": envelope.language,
                     "pdf": letter.name, "pages": pages, "bytes": len(document),
                     "sha256": hashlib.sha256(document).hexdigest()}
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            # The PDF may replace one left without a manifest (the vendor never took that);
            # the manifest, once there, is never replaced.
            os.replace(self._written(document), letter)
            staged = self._written(json.dumps(described, indent=1).encode())
            try:
                os.link(staged, manifest)  # never replaces a manifest
            except FileExistsError:
                pass  # another try of the same letter finished first: one letter all the same
            except OSError:
                # A share without hard links (some SMB mounts): the queue sends one message
                # from one worker at a time, and the manifest was not there above.
                os.replace(staged, manifest)
            finally:
                staged.unlink(missing_ok=True)
            _sync(self.folder)
        except OSError as error:
            raise Transient(f"print folder: {error.strerror or type(error).__name__}") from None
        return sent

    def _written(self, data: bytes) -> Path:
        """`data` in a hidden temporary file of the folder, on disk."""
        staged = self.folder / f".{uuid.uuid4().hex}.tmp"
        with open(staged, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        return staged


def _sync(folder: Path) -> None:
    """The renames on disk too, so a crash just after cannot lose a letter reported sent."""
    handle = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def adapter_from_config(config: Mapping) -> Adapter | None:
    """The print vendor for channel "letter": the folder when PRINT_VENDOR_DIR is set, else None
    (captured at /dev/messages in demo mode, refused outside it)."""
    folder = config.get("PRINT_VENDOR_DIR")
    return FolderPrintVendor(Path(folder)) if folder else None
