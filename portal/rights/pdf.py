"""Everything we hold about a borrower as a readable PDF: a heading per part, a line per fact
(Noto Sans CJK embedded when the borrower's data needs it, as letters do)."""

from __future__ import annotations

import json

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal import pdf

#: The parts of the file, in the order a person reads them, with their headings.
PARTS = (("borrower", _l("About you")), ("contact_points", _l("How we reach you")),
         ("accounts", _l("Your accounts")), ("ledger", _l("Ledger entries")),
         ("payments", _l("Payments")),
         ("plans", _l("Plans")), ("disputes", _l("Disputes")), ("consents", _l("Consents")),
         ("holds", _l("Pauses on contact")), ("contact_attempts", _l("Contact attempts")),
         ("messages_sent", _l("Messages we sent")), ("helpers", _l("People helping you")),
         ("corrections", _l("Corrections you asked for")), ("case_events", _l("Your case history")))


def _value(value) -> str:
    return json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else str(value)


def _lines(value) -> list[str]:
    rows = value if isinstance(value, list) else [value]
    out = []
    for item in rows:
        if isinstance(item, dict):
            out.append("; ".join(f"{k}: {_value(v)}" for k, v in item.items()
                                 if v not in (None, "", [], {})))
        else:
            out.append(str(item))
    return out or [_("Nothing")]


def data_pdf(borrower, data: dict) -> bytes:
    """The file as a PDF, in Noto Sans CJK (embedded) when the borrower's data or the language
    they read it in needs it."""
    title = _("Everything we hold about you")
    parts = [(str(heading), _lines(data.get(key))) for key, heading in PARTS]
    words = "\n".join([f"{title}: {borrower.display_name}",
                       *(line for heading, rows in parts for line in (heading, *rows))])
    document = pdf.document(title)
    face = pdf.face_for(document, words) or pdf.HELVETICA
    document.set_auto_page_break(True, margin=15)
    document.add_page()
    face.set(document, size=16)
    document.multi_cell(0, 9, face.text(f"{title}: {borrower.display_name}"),
                        new_x="LMARGIN", new_y="NEXT")
    for heading, rows in parts:
        document.ln(3)
        face.set(document, size=13)
        document.multi_cell(0, 7, face.text(heading), new_x="LMARGIN", new_y="NEXT")
        face.set(document, size=9)
        for line in rows:
            document.multi_cell(0, 5, face.text(line), new_x="LMARGIN", new_y="NEXT")
    return bytes(document.output())
