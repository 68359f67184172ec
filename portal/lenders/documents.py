"""A closed statement as the lender downloads it: one set of rows, written as CSV (through
csvsafe) and as PDF (through pdf.py). Amounts are decimal strings in the currency's major unit
with the currency beside them; the figures are the statement's own, never recomputed."""

from __future__ import annotations

import io
from dataclasses import dataclass

from flask_babel import gettext as _

from portal import csvsafe, pdf
from portal.lenders import remittance
from portal.lenders.models import RemittanceStatement
from portal.money import Money

CSV_COLUMNS = ("account_ref", "currency", "collected", "refunded", "charged_back", "commission",
               "direct_payments", "direct_commission", "remitted")


def rounding() -> str:
    """The rounding rule, said on the page and in the PDF."""
    return _("Commission is computed per account line: the exact sum of amount x rate over the "
             "line's payments, rounded once, half to even, to the currency's minor unit.")


@dataclass(frozen=True)
class Row:
    account_ref: str
    currency: str
    figures: tuple[int, ...]  # in CSV_COLUMNS' order after currency, minor units


def rows(statement: RemittanceStatement, references: dict[int, str]) -> list[Row]:
    """One row per account line of a closed statement."""
    return line_rows([remittance.Line(line.account_id, line.currency, line.collected_minor,
                                      line.refunded_minor, line.charged_back_minor,
                                      line.commission_minor, line.direct_minor,
                                      line.direct_commission_minor)
                      for line in statement.lines], statement.method, references)


def line_rows(lines: list[remittance.Line], method: str,
              references: dict[int, str]) -> list[Row]:
    """One row per account line, closed or drawn up (the agency's draft of the next one)."""
    return [Row(references[line.account_id], line.currency, (
        line.collected, line.refunded, line.charged_back, line.commission, line.direct,
        line.direct_commission, remittance.line_due(line, method))) for line in lines]


def total_rows(totals: list[remittance.Totals]) -> list[Row]:
    return [Row("TOTAL", t.currency, (t.collected, t.refunded, t.charged_back, t.commission,
                                      t.direct, t.direct_commission, t.due)) for t in totals]


def _decimal(minor: int, currency: str) -> str:
    return str(Money(minor, currency).decimal)


def as_csv(lines: list[Row], totals: list[Row]) -> str:
    out = io.StringIO()
    writer = csvsafe.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in lines + totals:
        writer.writerow([row.account_ref, row.currency,
                         *(_decimal(v, row.currency) for v in row.figures)])
    return out.getvalue()


def filename(statement: RemittanceStatement, extension: str) -> str:
    return f"remittance-{statement.creditor.code}-{statement.period}.{extension}"


@dataclass(frozen=True)
class Download:
    """A closed statement as a file: what the lender's portal and the console both send."""

    body: bytes
    mimetype: str
    filename: str

    @property
    def headers(self) -> dict[str, str]:
        """Sent to be saved, under its own name."""
        return {"Content-Type": self.mimetype,
                "Content-Disposition": f'attachment; filename="{self.filename}"'}


def download(statement: RemittanceStatement, references: dict[int, str],
             totals: list[remittance.Totals], extension: str) -> Download:
    """The statement as CSV (`csv`) or PDF (`pdf`), from its own figures."""
    lines = rows(statement, references)
    if extension == "csv":
        return Download(as_csv(lines, total_rows(totals)).encode("utf-8"),
                        "text/csv; charset=utf-8", filename(statement, "csv"))
    return Download(as_pdf(statement, lines, total_rows(totals),
                           {t.currency: t.invoiced for t in totals}),
                    "application/pdf", filename(statement, "pdf"))


def as_pdf(statement: RemittanceStatement, lines: list[Row], totals: list[Row],
           invoiced: dict[str, int]) -> bytes:
    """The statement on A4 landscape pages: lines, totals per currency, method and rounding (in
    Noto Sans CJK, embedded, when the lender reads Chinese)."""
    title = _("Remittance statement %(period)s", period=statement.period)
    facts = (
        _("Creditor: %(name)s (%(code)s)", name=statement.creditor.name,
          code=statement.creditor.code),
        _("Period: %(start)s to %(end)s (UTC, end exclusive)",
          start=statement.period_start.date().isoformat(),
          end=statement.period_end.date().isoformat()),
        _("Remittance method: %(method)s", method=statement.method),
        _("Closed: %(at)s", at=statement.closed_at.strftime("%Y-%m-%d %H:%M UTC")),
    )
    headings = (_("Account"), _("Currency"), _("Collected"), _("Refunded"), _("Charged back"),
                _("Commission"), _("Direct"), _("Direct comm."), _("Remitted"))
    notes = [_("Commission invoiced: %(amount)s %(currency)s",
               amount=_decimal(amount, currency), currency=currency)
             for currency, amount in sorted(invoiced.items()) if amount]
    closing = (rounding(), _(
        "A negative amount remitted is owed by the creditor to the agency (refunds and "
        "chargebacks of money remitted on an earlier statement)."))
    document = pdf.document(f"{title} {statement.creditor.name}", page_format="A4")
    face = pdf.face_for(document, "\n".join((title, *facts, *headings, *notes, *closing))) \
        or pdf.HELVETICA
    document.add_page(orientation="landscape")
    face.set(document, bold=True, size=16)
    document.cell(0, 10, face.text(title), new_x="LMARGIN", new_y="NEXT")
    face.set(document, size=10)
    for text in facts:
        document.cell(0, 6, face.text(text), new_x="LMARGIN", new_y="NEXT")
    document.ln(3)
    widths = (38, 18, 28, 28, 28, 28, 28, 28, 28)
    face.set(document, bold=True, size=9)
    for width, heading in zip(widths, headings, strict=True):
        document.cell(width, 7, face.text(heading), border="B")
    document.ln()
    for row in lines + totals:
        face.set(document, bold=row.account_ref == "TOTAL", size=9)
        cells = (row.account_ref, row.currency,
                 *(_decimal(v, row.currency) for v in row.figures))
        for index, (width, text) in enumerate(zip(widths, cells, strict=True)):
            document.cell(width, 6, face.text(text), align="R" if index > 1 else "L")
        document.ln()
    document.ln(4)
    face.set(document, size=9)
    for note in notes:
        document.cell(0, 6, face.text(note), new_x="LMARGIN", new_y="NEXT")
    for text in closing:
        document.multi_cell(0, 5, face.text(text), new_x="LMARGIN", new_y="NEXT")
    return bytes(document.output())
