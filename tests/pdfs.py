"""Reading the bot's PDFs back as a reader would: the text of every page (pypdfium2's text
extraction) and the first page rendered to a PNG."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pypdfium2 as pdfium


def pdf_text(data: bytes) -> str:
    assert data.startswith(b"%PDF-"), data[:20]
    doc = pdfium.PdfDocument(data)
    try:
        return "\n".join(page.get_textpage().get_text_range() for page in doc)
    finally:
        doc.close()


def first_page_png(data: bytes, name: str = "") -> bytes:
    """The first page as a PNG; with PDF_PNG_DIR set it is also saved there, to look at."""
    doc = pdfium.PdfDocument(data)
    try:
        image = doc[0].render(scale=1.5).to_pil()
    finally:
        doc.close()
    out = io.BytesIO()
    image.save(out, format="PNG")
    png = out.getvalue()
    folder = os.environ.get("PDF_PNG_DIR")
    if folder and name:
        Path(folder, f"{name}.png").write_bytes(png)
    # A page with something on it: not one colour from edge to edge.
    extrema = image.convert("L").getextrema()
    assert extrema[0] < 100 < extrema[1], extrema
    return png
