"""Rendering the three documents with reportlab platypus, a script of small ``_draw_*`` steps.

Every value goes through :meth:`FontSet.markup` (escaping, rare-character
fallback, or a clear error) and sits in a wrapping Paragraph, so long names and
addresses grow their row instead of being clipped.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import qrcode
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from shebao_desk.documents.fonts import FontSet, load_fonts
from shebao_desk.config.document_layout import Layout, load_layout
from shebao_desk.documents.model import CaseDocument
from shebao_desk.errors import ShebaoError

log = logging.getLogger(__name__)

TICK, BOX = "■", "□"
GRID = TableStyle([("GRID", (0, 0), (-1, -1), 0.6, colors.black), ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                   ("TOPPADDING", (0, 0), (-1, -1), 3), ("BOTTOMPADDING", (0, 0), (-1, -1), 3)])


# reportlab has no type information: its flowables and table cells are Any to mypy.
Story = list[Any]  # the flowables of a document, in order
Cells = list[list[Any]]  # a table's rows of cells (text, Paragraphs, other flowables)
Wording = dict[str, Any]  # a wording table of layout.toml (form, notice, receipt)


class QrCode(Flowable):  # type: ignore[misc]  # Flowable is Any (reportlab has no type information)
    """A QR code drawn as plain squares: no font, no graphics state, nothing unembedded."""

    def __init__(self, text: str, size: float) -> None:
        super().__init__()
        qr = qrcode.QRCode(border=0, error_correction=qrcode.constants.ERROR_CORRECT_M)
        qr.add_data(text)
        qr.make(fit=True)
        self.matrix = qr.get_matrix()
        self.width = self.height = size

    def draw(self) -> None:
        n = len(self.matrix)
        cell = self.width / n
        self.canv.setFillColor(colors.black)
        for row, line in enumerate(self.matrix):
            for col, dark in enumerate(line):
                if dark:
                    self.canv.rect(col * cell, (n - 1 - row) * cell, cell, cell, stroke=0, fill=1)


class DocumentError(ShebaoError):
    pass


@dataclass
class Styles:
    body: ParagraphStyle
    label: ParagraphStyle
    title: ParagraphStyle
    small: ParagraphStyle
    heading: ParagraphStyle
    header: ParagraphStyle


class Renderer:
    def __init__(self, layout: Layout | None = None, *, large: bool = False) -> None:
        self.layout = layout or load_layout()
        f = self.layout.fonts
        self.fonts: FontSet = load_fonts(f["path"], tuple(f["candidates"]), tuple(f["fallbacks"]),
                                         f.get("install_hint", "fonts-wqy-zenhei"))
        page = self.layout.page
        size = page["large_font_size"] if large else page["font_size"]
        name = self.fonts.main
        self.styles = Styles(
            body=ParagraphStyle("body", fontName=name, fontSize=size, leading=size * 1.45, wordWrap="CJK"),
            label=ParagraphStyle("label", fontName=name, fontSize=size, leading=size * 1.45, wordWrap="CJK",
                                 textColor=colors.HexColor("#222222")),
            title=ParagraphStyle("title", fontName=name, fontSize=page["title_size"] * (1.3 if large else 1),
                                 leading=page["title_size"] * 1.8, alignment=TA_CENTER, wordWrap="CJK"),
            small=ParagraphStyle("small", fontName=name, fontSize=page["small_size"] * (1.5 if large else 1),
                                 leading=page["small_size"] * (2.2 if large else 1.5), wordWrap="CJK"),
            heading=ParagraphStyle("heading", fontName=name, fontSize=size * 1.1, leading=size * 1.7, wordWrap="CJK",
                                   spaceBefore=size * 0.6),
            header=ParagraphStyle("header", fontName=name, alignment=TA_CENTER, wordWrap="CJK",
                                  fontSize=max(page["receipt_header_size"], size),
                                  leading=max(page["receipt_header_size"], size) * 1.5),
        )
        self.width = A4[0] - 2 * page["margin_mm"] * mm

    # -- small helpers ---------------------------------------------------------

    def p(self, text: object, style: str = "body") -> Paragraph:
        return Paragraph(self.fonts.markup(str(text)), getattr(self.styles, style))

    def lines(self, texts: list[str], style: str = "body") -> Paragraph:
        """Several lines in one paragraph (one cell)."""
        return Paragraph("<br/>".join(self.fonts.markup(t) for t in texts), getattr(self.styles, style))

    def table(self, rows: Cells, widths: list[float]) -> Table:
        table = Table(rows, colWidths=widths)
        table.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), self.fonts.main), ("VALIGN", (0, 0), (-1, -1), "TOP")]))
        return table

    def grid(self, rows: Cells, widths: list[float], extra: list[tuple[Any, ...]] | None = None) -> Table:
        table = self.table(rows, [w * self.width for w in widths])
        table.setStyle(GRID)
        if extra:
            table.setStyle(TableStyle(extra))
        return table

    def _build(self, story: Story, out: Path | io.BytesIO, title: str) -> None:
        margin = self.layout.page["margin_mm"] * mm
        doc = SimpleDocTemplate(str(out) if isinstance(out, Path) else out, pagesize=A4, leftMargin=margin, rightMargin=margin, topMargin=margin,
                                bottomMargin=margin, title=title, author="shebao-desk",
                                # else the canvas and table cells reference an unembedded Helvetica
                                initialFontName=self.fonts.main)
        doc.build(story)

    def build_story(self, story: Story, out: Path | io.BytesIO, title: str) -> None:
        """Any list of flowables to a PDF, with the same fonts and margins (for other sheets)."""
        try:
            self._build(story, out, title)
        except OSError as exc:
            raise DocumentError(f"无法写入文件：{exc}", repr(exc)) from exc

    def render(self, kind: str, document: CaseDocument, out: Path | io.BytesIO) -> None:
        draw = {"business_form": self.business_form, "notice": self.notice, "receipt": self.receipt}[kind]
        self.fonts.check(document.all_text)
        try:
            story, title = draw(document)
            self._build(story, out, title)
        except ShebaoError:
            raise
        except OSError as exc:
            raise DocumentError(f"无法写入文件：{exc}", repr(exc)) from exc
        log.info("rendered %s for case %s", kind, document.number)

    # -- the business form -----------------------------------------------------

    def business_form(self, d: CaseDocument) -> tuple[Story, str]:
        form = self.layout.form
        return [*self._draw_form_title(d, form), self._draw_business_row(d, form), Spacer(1, 3 * mm),
                *self._draw_applicant(d, form), *self._draw_agent(d, form), *self._draw_reason(d, form),
                *self._draw_materials(d, form), *self._draw_signatures(d, form)], form["title"]

    def _qr(self, text: str, size: float = 24 * mm) -> "QrCode":
        return QrCode(text, size)

    def _draw_form_title(self, d: CaseDocument, form: Wording) -> Story:
        labels = form["labels"]
        info = [self.p(form["title"], "title"), self.p(form.get("subtitle", ""), "small"),
                self.p(f"{labels['case_number']}：{d.number}"),
                self.p(f"{labels['site']}：{d.site.institution}"),
                self.p(f"{labels['window']}：{d.site.window_name}（{d.site.window_code}-{d.site.workstation}）")]
        return [self.table([[info, self._qr(d.number)]], [self.width - 28 * mm, 28 * mm])]

    def _draw_business_row(self, d: CaseDocument, form: Wording) -> Table:
        boxes = "　".join(f"{TICK if code == d.business_code else BOX} {name}" for code, name in d.all_businesses)
        # The card is co-branded with the bank chosen at intake: the form the window keeps names it too.
        bank = f"{d.outlet.name}（{d.outlet.address}）" if d.pickup else "—"
        return self.grid([[self.p(form["business_row"], "label"), self.p(boxes)],
                          [self.p(form["labels"]["outlet"], "label"), self.p(bank)]], [0.14, 0.86])

    def _photo_cell(self, d: CaseDocument, form: Wording) -> Image | Paragraph:
        if d.applicant.photo:
            try:
                return Image(io.BytesIO(d.applicant.photo), width=26 * mm, height=32 * mm)
            except Exception as exc:  # noqa: BLE001 - a broken photo must not lose the form
                log.warning("photo of case %s not printable: %s", d.number, exc)
        return self.lines([form["photo"], form["no_photo"]], "small")

    def _draw_applicant(self, d: CaseDocument, form: Wording) -> Story:
        lab, a = form["labels"], d.applicant
        photo = self._photo_cell(d, form)
        rows = [
            [self.p(lab["name"], "label"), self.p(a.name), self.p(lab["sex"], "label"), self.p(a.sex), photo],
            [self.p(lab["ethnicity"], "label"), self.p(a.ethnicity), self.p(lab["birth_date"], "label"),
             self.p(a.birth_date), ""],
            [self.p(lab["id_number"], "label"), self.p(a.id_number), self.p(lab["card_number"], "label"),
             self.p(a.card_number), ""],
            [self.p(lab["phone"], "label"), self.p(a.phone), self.p(lab["mode"], "label"), self.p(d.mode), ""],
            [self.p(lab["address"], "label"), self.p(a.address), "", "", ""],
        ]
        table = self.grid(rows, [0.16, 0.3, 0.16, 0.18, 0.2],
                          [("SPAN", (4, 0), (4, 3)), ("SPAN", (1, 4), (4, 4)), ("ALIGN", (4, 0), (4, 3), "CENTER")])
        return [self.p(form["section_applicant"], "heading"), table]

    def _draw_agent(self, d: CaseDocument, form: Wording) -> Story:
        lab, g = form["labels"], d.agent
        name, number, relation, phone = (g.name, g.id_number, g.relation, g.phone) if g else ("—", "—", "—", "—")
        rows = [[self.p(lab["agent_name"], "label"), self.p(name), self.p(lab["agent_relation"], "label"), self.p(relation)],
                [self.p(lab["agent_id_number"], "label"), self.p(number), self.p(lab["agent_phone"], "label"), self.p(phone)]]
        return [self.p(form["section_agent"], "heading"), self.grid(rows, [0.16, 0.34, 0.18, 0.32])]

    def _draw_reason(self, d: CaseDocument, form: Wording) -> Story:
        return [self.p(form["section_reason"], "heading"), self.grid([[self.p(d.reason or "—")]], [1.0])]

    def _draw_materials(self, d: CaseDocument, form: Wording) -> Story:
        rows = [[self.p(f"{TICK if m.presented else BOX} {m.name}")] for m in d.materials]
        rows += [[self.p(f"{TICK} {scan}")] for scan in d.scans]  # copies supplied as scans (issue 17)
        return [self.p(form["section_materials"], "heading"), self.grid(rows, [1.0])]

    def _draw_signatures(self, d: CaseDocument, form: Wording) -> Story:
        """Declaration, then real room to sign: a ruled blank after every 签字： and 日期：, and the seal box."""
        lab, page = form["labels"], self.layout.page
        blank, size = page["signature_blank_pt"], self.styles.label.fontSize
        # A minor's case is signed by the guardian (监护人签字), not by an applicant or an agent.
        first = "guardian_signature" if d.mode_code == "guardian" else "applicant_signature"
        keys = (first, "clerk_signature", "reviewer_signature")
        label_w = max(len(form[k]) for k in keys) * size + 8
        date_w = len(form["date"]) * size + 8
        rows = [[self.p(form[key], "label"), "", self.p(form["date"], "label"), ""] for key in keys]
        if d.signature_png:  # signed on the applicant's screen: the image on the applicant's line
            rows[0][1] = Image(io.BytesIO(d.signature_png), width=blank, height=size * 2.6, kind="proportional")
            rows[0][3] = self.p(d.signed_at, "label")
        seal_size = page["seal_mm"] * mm
        inner = self.width - 12 - seal_size - 6
        lines = Table(rows, colWidths=[label_w, blank, date_w, inner - label_w - blank - date_w],
                      rowHeights=[size * 2.9] * len(rows))
        lines.setStyle(TableStyle([
            ("FONTNAME", (0, 0), (-1, -1), self.fonts.main), ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
            ("LINEBELOW", (1, 0), (1, -1), 0.6, colors.black), ("LINEBELOW", (3, 0), (3, -1), 0.6, colors.black),
            ("LEFTPADDING", (0, 0), (-1, -1), 0), ("RIGHTPADDING", (1, 0), (1, -1), 12)]))
        seal = Table([[self.p(form["seal"], "small")]], colWidths=[seal_size], rowHeights=[seal_size])
        seal.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), self.fonts.main), ("BOX", (0, 0), (-1, -1), 0.6, colors.grey, None, (2, 2)),
                                  ("VALIGN", (0, 0), (-1, -1), "BOTTOM"), ("ALIGN", (0, 0), (-1, -1), "CENTER")]))
        facts = self.p(f"{form['clerk_line']}：{d.clerk_name}　　{lab['accepted_at']}：{d.accepted_at}"
                       f"　　{lab['fee']}：{d.fee_line}")
        bottom = Table([[lines, seal]], colWidths=[inner, seal_size + 6])
        bottom.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), self.fonts.main), ("VALIGN", (0, 0), (-1, -1), "MIDDLE"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
        return [Spacer(1, 3 * mm), self.grid([[self.p(form["declaration"])], [facts], [bottom]], [1.0])]

    # -- the one-time notice ---------------------------------------------------

    def notice(self, d: CaseDocument) -> tuple[Story, str]:
        n = self.layout.notice
        head = self.grid([[self.p(n["business"], "label"), self.p(d.business_name), self.p(n["mode"], "label"), self.p(d.mode)],
                          [self.p(n["applicant"], "label"), self.p(f"{d.applicant.name}（{d.number}）"), "", ""]],
                         [0.16, 0.34, 0.16, 0.34], [("SPAN", (1, 1), (3, 1))])
        rows = [[self.p(n["materials"], "label"), self.p(f"{n['presented']} / {n['missing']}", "label")]]
        for m in d.materials:
            state = n["presented"] if m.presented else (n["optional"] if m.optional else n["missing"])
            rows.append([self.p(m.name), self.p(state)])
        materials = self.grid(rows, [0.78, 0.22], [("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee"))])
        return [self.p(n["title"], "title"), self.p(n["intro"]), Spacer(1, 2 * mm), head, Spacer(1, 2 * mm),
                materials, *self._draw_next_steps(d, n), *self._draw_contact(d, n)], n["title"]

    def _draw_next_steps(self, d: CaseDocument, n: Wording) -> Story:
        if d.missing:
            lines = [n["missing_next"], "、".join(m.name for m in d.missing)]
        else:
            lines = [d.next_step]
            if d.promised_date and d.pickup:
                lines.append(f"{n['outlet']}：{d.outlet.name}，{d.outlet.address}，{d.outlet.hours}，"
                             f"{d.promised_date:%Y年%m月%d日}后")
        if d.where:
            lines.append(d.where)
            if d.outlet_known:  # else it would name a bank that may not be the applicant's
                lines.append(f"{d.outlet.name}，{d.outlet.address}，电话 {d.outlet.phone}，{d.outlet.hours}")
        return [self.p(n["next"], "heading"), *(self.p(line) for line in lines)]

    def _draw_contact(self, d: CaseDocument, n: Wording) -> Story:
        return [Spacer(1, 3 * mm),
                self.p(f"{n['window']}：{d.site.institution} {d.site.window_name}，{d.site.address}"),
                self.p(f"{n['phone']}：{d.site.phone}　　{n['hours']}：{d.site.hours}"),
                self.p(f"{n['owner']}：{d.clerk_name}　　{d.accepted_at}")]

    # -- the receipt -----------------------------------------------------------

    @staticmethod
    def _receipt_rows(d: CaseDocument, r: Wording, promised: str) -> list[tuple[str, str]]:
        """Rows that mean something for this business: a loss has its times and functions, a card
        handed over its number, a new card to collect its bank."""
        rows = []
        if d.loss_effective:
            rows.append((r["loss_effective"], d.loss_effective))
        if d.loss_expires:
            rows.append((r["loss_expires"], d.loss_expires))
        if d.loss_functions:
            rows.append((r["loss_functions"], d.loss_function_names))
        if d.new_card_number:
            rows.append((r["new_card_number"], d.new_card_number))
        if d.temp_card_number:
            rows += [(r["temp_card_number"], d.temp_card_number), (r["temp_card_until"], d.temp_card_until)]
        rows.append((r["promised"], promised))
        if d.pickup and d.promised_date:
            rows.append((r["pickup"], f"{d.outlet.name}（{d.outlet.address}，{d.outlet.phone}，{d.outlet.hours}）"))
        if d.where:
            bank = f"{d.outlet.name}（{d.outlet.address}，{d.outlet.phone}）" if d.outlet_known else ""
            rows.append((r["where"], d.where + bank))
        return rows + [(r["fee"], d.fee_line), (r["clerk"], d.clerk_name), (r["window_phone"], d.site.phone)]

    @staticmethod
    def _loss_tips(d: CaseDocument, r: Wording) -> list[str]:
        """Art. 15 in full on every loss receipt, and the function not suspended here, if one was not."""
        if not d.is_loss:
            return []
        tips = [r["loss_liability"]]
        if "financial" not in d.loss_functions:
            tips.append(r["financial_elsewhere"])
        if "social" not in d.loss_functions:
            tips.append(r["social_elsewhere"])
        return tips

    def receipt(self, d: CaseDocument) -> tuple[Story, str]:
        r = self.layout.receipt
        estimate = f" {r['provisional']}" if d.promise_provisional else ""
        promised = (f"{d.promised_date:%Y-%m-%d}{estimate}" + r["promised_days"].format(days=d.promised_days)
                    if d.promised_date else r["done_now"])
        rows = [(r["case_number"], d.number), (r["business"], d.business_name),
                (r["applicant"], d.applicant.name), (r["accepted_at"], d.accepted_at)]
        rows += self._receipt_rows(d, r, promised)
        table = self.grid([[self.p(k, "label"), self.p(v)] for k, v in rows], [0.22, 0.78])
        provisional_note = r["provisional_note"] if d.promise_provisional and d.promised_date else ""
        collects = d.pickup and d.promised_date  # only then is there a card to collect with this receipt
        notices = [n for n in (*self._loss_tips(d, r), *d.notices, provisional_note, d.next_step,
                               r["keep"] if collects else r["keep_no_card"]) if n]
        return [self.p(r["title"], "title"), self.p(f"{d.site.institution} {d.site.window_name}", "header"),
                Spacer(1, 2 * mm), table, self.p(r["notices_title"], "heading"),
                *(self.p(f"{i}. {text}") for i, text in enumerate(notices, 1)),
                Spacer(1, 2 * mm), self._qr(d.number, 20 * mm), *self._rating_qr(d)], r["title"]

    def _rating_qr(self, d: CaseDocument) -> Story:
        """Issue 28: where the county has an online 好差评 channel, a code to rate this case later."""
        if not d.rating_url:
            return []
        return [self.table([[self._qr(d.rating_url, 20 * mm), self.p("扫码评价本次服务（政务服务“好差评”）")]],
                           [24 * mm, self.width - 24 * mm])]
