"""Rendering each document (fonts loaded once per process) against a bare reportlab canvas
drawing the same text with the same font."""

from __future__ import annotations

import io

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas
from pypdf import PdfReader

from benchmarks.common import Figure, median_ms
from shebao_desk.documents.render import Renderer
from shebao_desk.documents.samples import sample_document
from shebao_desk.config.policy import load_policy

FIGURES = ("render_business_form", "render_notice", "render_notice_large", "render_receipt")


def _bare(text_lines: list[str], font: str) -> None:
    """Every line in full (wrapped at the text width, as ours wraps), each in a ruled box with a
    column rule, as our tables draw: like for like, not a page of 60-character stubs."""
    from reportlab.pdfbase.pdfmetrics import stringWidth
    buf = io.BytesIO()
    canvas = Canvas(buf, pagesize=A4, initialFontName=font)
    canvas.setFont(font, 10.5)
    width, left, y = A4[0] - 80, 40, 800
    for line in text_lines:
        pieces, piece = [], ""
        for ch in line:
            if stringWidth(piece + ch, font, 10.5) > width - 8:
                pieces.append(piece)
                piece = ""
            piece += ch
        pieces.append(piece)
        top = y + 11
        for text in pieces:
            canvas.drawString(left + 4, y, text)
            y -= 14
            if y < 40:
                canvas.showPage()
                canvas.setFont(font, 10.5)
                y, top = 800, 811
        canvas.rect(left, y + 11, width, top - (y + 11))  # the cell around the row
        canvas.line(left + width / 4, y + 11, left + width / 4, top)  # the label | value rule
    canvas.save()


def run(quick: bool = False) -> list[Figure]:
    runs = 2 if quick else 20
    document = sample_document(load_policy())
    figures = []
    for kind, large in (("business_form", False), ("notice", False), ("notice", True), ("receipt", False)):
        renderer = Renderer(large=large)
        buf = io.BytesIO()
        renderer.render(kind, document, buf)  # first render: warm-up (font subsets, caches)
        lines = [line for line in PdfReader(io.BytesIO(buf.getvalue())).pages[0].extract_text().splitlines() if line]
        ours = median_ms(lambda r=renderer, k=kind: r.render(k, document, io.BytesIO()), runs=runs)
        bare = median_ms(lambda r=renderer, text=lines: _bare(text, r.fonts.main), runs=runs)
        name = f"render_{kind}{'_large' if large else ''}"
        figures.append(Figure(name, ours, "ms", f"bare reportlab canvas, same {len(lines)} lines in full, each in a ruled cell, same font",
                              bare, "<= 50 ms", ours <= 50))
    return figures
