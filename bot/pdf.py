"""PDF papers (statements, certificates, confirmations) with fpdf2: a title, lines of text and
tables, in DejaVu Sans, which covers ä, ö and å. The font is read from matplotlib's package data
(already a dependency for the report chart) rather than copied into this repository."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import matplotlib
from fpdf import FPDF
from fpdf.enums import XPos, YPos

FONT = "DejaVu"


@cache
def font_dir() -> Path:
    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


@dataclass(frozen=True)
class Column:
    """A table column: its heading, its share of the page width and its alignment."""

    heading: str
    width: float  # a share of the text width; a table's shares add up to 1
    align: str = "L"  # L or R (numbers)


class Paper:
    """One A4 document built top to bottom. No prose here: every text comes from the
    caller, already in the reader's language."""

    def __init__(self, title: str, footer: str = "") -> None:
        self.footer_text = footer
        pdf = FPDF(format="A4")
        pdf.set_margins(18, 18, 18)
        pdf.set_auto_page_break(auto=True, margin=18)
        pdf.add_font(FONT, "", str(font_dir() / "DejaVuSans.ttf"))
        pdf.add_font(FONT, "B", str(font_dir() / "DejaVuSans-Bold.ttf"))
        pdf.set_title(title)
        pdf.set_creator("Kokemusvälitys")
        pdf.add_page()
        self.pdf = pdf
        pdf.set_font(FONT, "B", 16)
        pdf.multi_cell(0, 8, title, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(2)

    def heading(self, text: str) -> None:
        self.pdf.ln(3)
        self.pdf.set_font(FONT, "B", 12)
        self.pdf.multi_cell(0, 7, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def line(self, text: str, *, bold: bool = False) -> None:
        self.pdf.set_font(FONT, "B" if bold else "", 10)
        self.pdf.multi_cell(0, 5.5, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def pairs(self, rows: list[tuple[str, str]]) -> None:
        """Label: value lines, the labels in bold in a column of their own."""
        width = self.pdf.epw
        for label, value in rows:
            self.pdf.set_font(FONT, "B", 10)
            self.pdf.cell(width * 0.32, 5.5, label)
            self.pdf.set_font(FONT, "", 10)
            self.pdf.multi_cell(0, 5.5, value, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def table(self, columns: list[Column], rows: list[list[str]], *, total: bool = False) -> None:
        """A table with a heading row; with `total` the last row is set in bold."""
        pdf = self.pdf
        widths = [pdf.epw * c.width for c in columns]
        pdf.ln(1)
        pdf.set_font(FONT, "B", 9)
        pdf.set_fill_color(230, 236, 242)
        for column, width in zip(columns, widths, strict=True):
            pdf.cell(width, 6.5, column.heading, border="B", align=column.align, fill=True)
        pdf.ln()
        for index, row in enumerate(rows):
            last = total and index == len(rows) - 1
            pdf.set_font(FONT, "B" if last else "", 9)
            for column, width, value in zip(columns, widths, row, strict=True):
                text = self._fit(value, width - 2)
                pdf.cell(width, 6, text, border="T" if last else 0, align=column.align)
            pdf.ln()

    def _fit(self, text: str, width: float) -> str:
        """A cell's text cut with … where it would run into the next column."""
        if self.pdf.get_string_width(text) <= width:
            return text
        while text and self.pdf.get_string_width(text + "…") > width:
            text = text[:-1]
        return text.rstrip() + "…"

    def gap(self) -> None:
        self.pdf.ln(4)

    def bytes(self) -> bytes:
        if self.footer_text:
            self.pdf.ln(6)
            self.pdf.set_font(FONT, "", 8)
            self.pdf.set_text_color(90, 90, 90)
            self.pdf.multi_cell(
                0, 4.5, self.footer_text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT
            )
        return bytes(self.pdf.output())
