"""One case: every field, its audit timeline, reprint, and completion with the date."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QDateEdit, QDialog, QFormLayout, QHBoxLayout, QLabel, QPushButton, QScrollArea, QVBoxLayout, QWidget,
)

from shebao_desk.clock import CHINA, local_text
from shebao_desk.models import CaseStatus
from shebao_desk.rules.idnumber import mask_id_number
from shebao_desk.services.case_actions import ScannedFace, complete_on, scan_back_and_file, scan_id_face
from shebao_desk.services.case_documents import render_papers
from shebao_desk.services.case_papers import print_state
from shebao_desk.services.case_request import ORIGIN_FIELDS, ORIGIN_LABELS
from shebao_desk.services.case_view import CaseDetail, case_detail
from shebao_desk.ui.confirm import confirm
from shebao_desk.ui.geometry import fit_to_screen
from shebao_desk.ui.ops import run_op
from shebao_desk.ui.printing import PreviewDialog, case_print_recorder
from shebao_desk.ui.widgets import Hint, Table, china_today, named


def origins_text(origins: dict | None) -> str:
    if not origins:
        return "手工录入"
    return "；".join(f"{ORIGIN_FIELDS.get(k, k)}：{ORIGIN_LABELS.get(v, v)}" for k, v in origins.items())


class CaseDetailDialog(QDialog):
    def __init__(self, ctx, case_id: str, parent=None) -> None:
        super().__init__(parent)
        self.ctx, self.case_id = ctx, case_id
        self.setWindowTitle(self.tr("业务详情"))
        fit_to_screen(self, 900, 640)
        layout = QVBoxLayout(self)
        # Everything but the action row scrolls: the window fits a 1280×720 laptop and 办结, 重新打印
        # and 扫描 stay in sight however long the history grows (D4).
        body = named(QWidget(), "detail_body")
        inner = QVBoxLayout(body)
        self.fields = QFormLayout()
        inner.addLayout(self.fields)
        self.history = Table([self.tr("时间"), self.tr("经办人"), self.tr("工作站"), self.tr("操作记录")], "history")
        self.history.setMinimumHeight(180)
        inner.addWidget(QLabel(self.tr("操作记录")))
        inner.addWidget(self.history, 1)
        scans_row = QHBoxLayout()
        self.scans = Table(["扫描件", "文件", "分辨率", "扫描时间"], "attachments")
        self.scan_preview = named(QLabel("无扫描件", alignment=Qt.AlignmentFlag.AlignCenter), "attachment_preview")
        self.scan_preview.setFixedSize(150, 212)  # A4 proportions
        self.scan_preview.setStyleSheet("border:1px solid #999")
        scans_row.addWidget(self.scans, 1)
        scans_row.addWidget(self.scan_preview)
        inner.addWidget(QLabel("扫描件（身份证复印件等）"))
        inner.addLayout(scans_row)
        self.scroll_area = named(QScrollArea(widgetResizable=True), "detail_scroll")
        self.scroll_area.setWidget(body)
        layout.addWidget(self.scroll_area, 1)
        row = QHBoxLayout()
        self.message = Hint("detail_message")
        row.addWidget(self.message, 1)
        self.done_date = named(QDateEdit(china_today(), calendarPopup=True, displayFormat="yyyy-MM-dd"),  # type: ignore[call-overload]  # inherited property keyword, not in PySide6's stubs
                               "done_date")
        self.complete_button = named(QPushButton(self.tr("办结")), "complete")
        self.reprint_button = named(QPushButton(self.tr("重新打印")), "reprint")
        self.scan_button = named(QPushButton(self.tr("扫描身份证正面")), "scan_id")
        self.front: ScannedFace | None = None  # the front face, while the clerk turns the card over
        for w in (QLabel(self.tr("办结日期")), self.done_date, self.complete_button, self.reprint_button,
                  self.scan_button):
            row.addWidget(w)
        layout.addLayout(row)
        self.complete_button.clicked.connect(self.complete)
        self.reprint_button.clicked.connect(self.reprint)
        self.scan_button.clicked.connect(self.scan_id)
        self.reload()

    def reload(self) -> None:
        ctx = self.ctx
        case_id, store_path = self.case_id, ctx.store_path
        run_op(self, ctx, lambda s: case_detail(s, store_path, case_id, ctx.policy.catalogue),
               self.show_detail, read=True)

    def show_detail(self, d: CaseDetail) -> None:
        case, person = d.case, d.person
        while self.fields.rowCount():
            self.fields.removeRow(0)
        catalogue = self.ctx.policy.catalogue
        business = catalogue[case.business]
        if case.status is CaseStatus.RETURNED:
            promised = self.tr("—（退回补材料，补齐后再受理）")
        else:
            promised = f"{case.promised_date}" if case.promised_date else "当场办结"
            if case.promised_date and case.promise_provisional:
                promised += self.tr(" 预计（按暂定日历计算，正式节假日安排公布后不改）")
        actual = local_text(case.completed_at) if case.completed_at else self.tr("未办结")
        late = ""
        if case.completed_at and case.promised_date:
            late = self.tr("（按期）") if case.completed_at.astimezone(CHINA).date() <= case.promised_date else self.tr("（超期）")
        rows = [(self.tr("受理编号"), case.number), (self.tr("业务"), business.name), (self.tr("状态"), case.status.label),
                (self.tr("申请人"), f"{person.name}　{mask_id_number(person.id_number)}"),
                (self.tr("代办人"), f"{case.agent_name} {case.agent_relation}".strip() or "—"),
                (self.tr("材料"), "、".join(catalogue.material_name(m) for m in case.materials) or "—"),
                (self.tr("尚缺"), "、".join(catalogue.material_name(m) for m in case.missing) or "—"),
                (self.tr("原因"), case.reason or "—"), (self.tr("收费"), business.fee_text(case.fee)),
                (self.tr("领卡网点"), case.outlet or "—"),
                (self.tr("受理"), f"{local_text(case.accepted_at)}　{d.accepted_by}　工作站 {case.workstation}"),
                (self.tr("承诺办结"), promised), (self.tr("实际办结"), f"{actual}{late}　{d.completed_by}"),
                (self.tr("信息来源"), origins_text(case.field_origins)), (self.tr("打印"), print_state(case))]
        for label, value in rows:
            self.fields.addRow(label, named(QLabel(value), f"detail_{label}"))
        self.history.fill(d.history)
        self.scans.fill([row.cells() for row in d.scans], [row.path for row in d.scans])
        if d.scans:
            pixmap = QPixmap(str(d.scans[-1].path))
            self.scan_preview.setPixmap(pixmap.scaled(self.scan_preview.size(), Qt.AspectRatioMode.KeepAspectRatio,
                                                      Qt.TransformationMode.SmoothTransformation))
        self.complete_button.setEnabled(case.status is CaseStatus.ACCEPTED)
        self.case = case

    def complete(self) -> None:
        day = self.done_date.date().toPython()
        if not confirm(self, self.tr("确认办结"),
                       self.tr("办结 {0}（{1}）：记为申请人已于 {2:%Y年%m月%d日} 领到新卡，新卡转为正常使用。"
                               "办结后不能撤销。").format(self.case.number, self.case.person.name, day),
                       self.tr("办结")):
            return
        ctx, actor, case_id = self.ctx, self.ctx.actor, self.case_id

        def done(_: None) -> None:
            self.message.fine(self.tr("已办结"))
            self.reload()

        run_op(self, ctx, lambda: complete_on(ctx.store, actor, case_id, day), done, changes={"cases"})

    def reprint(self) -> None:
        ctx, case_id, number = self.ctx, self.case_id, self.case.number

        def done(paths: dict[str, Path]) -> None:
            self.previews = [PreviewDialog(p, ctx.printer, self, on_result=case_print_recorder(ctx, self.case_id,
                                                                                              self.reload))
                             for p in paths.values()]
            for dialog in self.previews:
                dialog.show()

        run_op(self, ctx, lambda: render_papers(ctx.store, case_id, number, ctx.policy), done)

    # -- the A4 copy of the ID card, from the scanner ---------------------------------

    def scan_id(self) -> None:
        """First press: the front face; second press (after turning the card over): the back, then saved."""

        ctx, actor = self.ctx, self.ctx.actor
        number, case_id, front = self.case.number, self.case_id, self.front
        chosen = ctx.scanner or os.environ.get("SHEBAO_SCANNER", "")

        def work() -> ScannedFace | str:
            if front is None:
                return scan_id_face(chosen)
            return scan_back_and_file(ctx.store, actor, case_id, number, front)

        def done(result: ScannedFace | str) -> None:
            self.scan_button.setEnabled(True)
            if isinstance(result, ScannedFace):
                self.front = result
                self.scan_button.setText("扫描身份证反面")
                self.message.info("正面已扫描。请把身份证翻面放在扫描仪的同一角，再点“扫描身份证反面”")
                return
            self.front = None
            self.scan_button.setText("扫描身份证正面")
            self.message.fine(f"身份证复印件已保存：{result}（重新打印业务办理表即列出此扫描件）")
            self.reload()

        self.scan_button.setEnabled(False)
        self.message.info("正在扫描…")
        run_op(self, ctx, work, done, failed=lambda _: self.scan_button.setEnabled(True), worker=ctx.devices,
               changes={"cases"})
