"""受理: one form for every business, from the card in the reader to the papers in the applicant's hand."""

from __future__ import annotations

import datetime as dt
import logging
import os
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox, QFileDialog, QHBoxLayout, QLabel, QPushButton, QScrollArea, QVBoxLayout, QWidget,
)

from shebao_desk.clock import now_utc
from shebao_desk.config.catalogue import BusinessCode
from shebao_desk.devices.idcard import PHOTO_NOT_SHOWN, decode_photo, find_idcard_port, read_id_card
from shebao_desk.errors import ShebaoError
from shebao_desk.rules import card_rules
from shebao_desk.rules.idnumber import parse_id_number
from shebao_desk.services import card_business
from shebao_desk.services.case_documents import render_case
from shebao_desk.services.case_files import case_folder, draft_path
from shebao_desk.services.drafts import DraftFile
from shebao_desk.services.intake import accept_case, find_person
from shebao_desk.services.photo import normalise_photo
from shebao_desk.sync import central
from shebao_desk.ui.confirm import confirm_business
from shebao_desk.ui.errors import clerk_message
from shebao_desk.ui.intake_form import IntakeForm
from shebao_desk.ui.ops import run_op
from shebao_desk.ui.pin_dialog import PinDialog
from shebao_desk.ui.printing import PreviewDialog, case_print_recorder
from shebao_desk.ui.widgets import Hint, named

log = logging.getLogger(__name__)

DOC_TITLES = {"business_form": "业务办理表", "receipt": "受理回执", "notice": "一次性告知单"}


class IntakePage(QWidget):
    case_saved = Signal(object)  # dict: number, status, missing, paths

    def __init__(self, ctx) -> None:
        super().__init__()
        self.ctx = ctx
        self.cards = ctx.cards
        self.form = IntakeForm(ctx.policy)
        self.last_paths: dict[str, Path] = {}
        self.last_case_id: str | None = None
        self.last_case = ""
        self.last_id = ""
        self.stored_photo: tuple[str, bool] = ("", False)  # (ID number, a photo is on file)
        self.previews: list = []

        layout = QVBoxLayout(self)
        reader_row = QHBoxLayout()
        self.reader = named(QComboBox(), "reader")
        self.read_button = named(QPushButton(self.tr("读卡 (F5)")), "read_button")
        self.card_status = Hint("card_status")
        reader_row.addWidget(QLabel(self.tr("读卡器")))
        reader_row.addWidget(self.reader, 1)
        reader_row.addWidget(self.read_button)
        self.idcard_button = named(QPushButton("读身份证 (F6)"), "idcard_button")
        reader_row.addWidget(self.idcard_button)
        layout.addLayout(reader_row)
        layout.addWidget(self.card_status)
        scroll = QScrollArea(widgetResizable=True)
        scroll.setWidget(self.form)
        layout.addWidget(scroll, 1)
        self.result = Hint("result")
        self.pin_dialog: PinDialog | None = None  # the PIN dialog of the running 启用 / 密码修改, once the record side agreed
        layout.addWidget(self.result)
        buttons = QHBoxLayout()
        self.doc_case = named(QLabel(), "doc_case")
        self.doc_buttons = QHBoxLayout()
        buttons.addWidget(self.doc_case)
        buttons.addLayout(self.doc_buttons)
        buttons.addStretch(1)
        self.tick_button = named(QPushButton(self.tr("材料全选 (Ctrl+M)")), "tick_all")
        self.clear_button = named(QPushButton(self.tr("清空 (Ctrl+N)")), "clear")
        self.accept_button = named(QPushButton(self.tr("受理 (Ctrl+Enter)")), "accept")
        self.accept_button.setStyleSheet("font-weight:bold;padding:6px 18px")
        for b in (self.tick_button, self.clear_button, self.accept_button):
            buttons.addWidget(b)
        layout.addLayout(buttons)

        self.read_button.clicked.connect(self.read_selected)
        self.idcard_button.clicked.connect(self.read_idcard)
        self.tick_button.clicked.connect(self.form.tick_all)
        self.clear_button.clicked.connect(self.clear)
        self.accept_button.clicked.connect(self.accept)
        self.form.photo_button.clicked.connect(self.import_photo)
        self.form.id_number_valid.connect(self.look_up_person)
        self.form.id_number_valid.connect(self._other_applicant)
        for keys, slot in (("F5", self.read_selected), ("F6", self.read_idcard), ("Ctrl+Return", self.accept), ("Ctrl+Enter", self.accept),
                           ("Ctrl+N", self.clear), ("Ctrl+M", self.form.tick_all)):
            # Ctrl+A stays "select all" in the text fields; M for 材料.
            QShortcut(QKeySequence(keys), self, context=Qt.ShortcutContext.WidgetWithChildrenShortcut).activated.connect(slot)

        self.cards.readers_changed.connect(self.show_readers)
        self.cards.card_read.connect(self.on_card_read)
        self.cards.card_failed.connect(self.on_card_failed)
        self.cards.card_inserted.connect(lambda r: self.card_status.info(f"{r}：检测到卡，正在读取…"))
        self.cards.card_removed.connect(lambda r: self.card_status.info(f"{r}：卡已取出"))
        self.show_readers(sorted(self.cards.readers.items()))

        self.draft = DraftFile(draft_path(ctx.store.path, f"intake-{ctx.workstation}"))
        self._draft_timer = QTimer(self, singleShot=True, interval=400)
        self._draft_timer.timeout.connect(self.save_draft)
        self.form.changed.connect(self._draft_timer.start)
        self.restore_draft()

    # -- readers -----------------------------------------------------------------

    def show_readers(self, readers: list) -> None:
        current = self.reader.currentData()
        self.reader.blockSignals(True)
        self.reader.clear()
        for name, present in readers:
            self.reader.addItem(f"{name}（{'有卡' if present else '无卡'}）", name)
        index = self.reader.findData(current)
        if index < 0:  # prefer a reader holding a card
            index = next((i for i, (_, present) in enumerate(readers) if present), 0)
        self.reader.setCurrentIndex(index)
        self.reader.blockSignals(False)

    def selected_reader(self) -> str | None:
        return self.reader.currentData()

    def read_selected(self) -> None:
        reader = self.selected_reader()
        self.card_status.info(f"正在读卡：{reader or '第一个读卡器'}…")
        self.cards.read(reader)

    def on_card_read(self, reader: str, info) -> None:
        typed = self.form.id_number.text().strip().upper()
        if typed and info.ssn and typed != info.ssn:
            self.card_status.problem(f"{reader} 中的卡属于另一人（{info.name}），与正在填写的申请人不同；如要换人请先清空 (Ctrl+N)")
            return
        index = self.reader.findData(reader)
        if index >= 0:
            self.reader.setCurrentIndex(index)
        self.form.fill_from_card(info)
        self.card_status.fine(f"已读卡：{info.name}，卡号 {info.card_number}（{reader}）")

    def on_card_failed(self, reader: str, error) -> None:
        self.card_status.problem(f"{reader}：{clerk_message(error)}" if reader else clerk_message(error))

    # -- the resident ID card reader (F6) ---------------------------------------------

    def read_idcard(self) -> None:
        port = self.ctx.idcard_port or find_idcard_port()
        if not port:
            self.card_status.problem("没有找到身份证阅读器：请连接阅读器，或在设置中填写它的串口")
            return
        self.card_status.info(f"正在读身份证（{port}）…")
        decoder = os.environ.get("SHEBAO_WLT_DECODER", "")  # a vendor's licensed WLT decoder, if installed

        def work():
            info = read_id_card(port)
            return info, decode_photo(info.photo_wlt, decoder)

        run_op(self, self.ctx, work, lambda result: self.on_idcard_read(*result), hint=self.card_status,
               worker=self.ctx.devices)

    def on_idcard_read(self, info, id_photo: bytes | None = None) -> None:

        current = self.form.id_number.text().strip().upper()
        if current and current != info.id_number:
            source = "社会保障卡" if self.form.origins.get("id_number") == "ss_card" else "正在填写的"
            self.card_status.problem(
                f"身份证（{info.name}）与{source}申请人不是同一人，请核对；如要换人请先清空 (Ctrl+N)")
            return
        chip_name = self.form.name.text().strip() if self.form.origins.get("name") == "ss_card" else ""
        self.form.fill_from_idcard(info)
        problem = info.validity_problem(dt.date.today())
        if chip_name and chip_name != info.name:
            problem = (f"身份证上的姓名“{info.name}”与社会保障卡芯片中的“{chip_name}”不一致，"
                       "请核对（可能需办理信息变更）")
        until = info.valid_to.isoformat() if info.valid_to else "长期"
        if problem:
            self.card_status.problem(f"已读身份证：{info.name}。{problem}")
        else:
            photo = "身份证照片已由厂商解码库解码，可与申请人本人核对。" if id_photo else PHOTO_NOT_SHOWN
            self.card_status.fine(f"已读身份证：{info.name}，有效期至 {until}。{photo}")
        self.id_photo = id_photo  # for comparison with the applicant only; never stored as the card photo

    # -- person and photo ----------------------------------------------------------

    def look_up_person(self, id_number: str) -> None:
        def local():
            with self.ctx.store.read() as s:
                person = find_person(s, id_number)
                if person is None:
                    return None
                card = card_rules.current_card(person.cards) or (person.cards[-1] if person.cards else None)
                label = card_rules.state_label(card, now_utc()) if card else self.tr("无卡")
                number = card.card_number if card else ""
                self.stored_photo = (id_number, person.photo is not None)
                return person, label, number

        def work():

            found = local()
            url = central.central_url(self.ctx.policy)
            if found is None and url:  # perhaps a person of another window: ask central
                try:
                    central.lookup_person(self.ctx.store, url, id_number)
                except central.CentralUnavailable as exc:
                    log.warning("%s", exc.detail)
                    return exc.message
                found = local()
            return found

        def done(found) -> None:
            if self.form.id_number.text().strip().upper() != id_number:
                return  # the clerk typed on meanwhile
            if isinstance(found, str):  # central could not be asked; the clerk goes on with the papers
                self.form.person_status.info(found)
                return
            if found is None:
                self.form.person_status.info(self.tr("新申请人（系统中尚无记录）"))
                return
            person, label, number = found
            self.form.fill_from_person(person)
            self.form.person_status.info(f"系统记录：{person.name}，社会保障卡 {number or '（卡号未登记）'}：{label}")

        run_op(self, self.ctx, work, done, hint=self.form.person_status)

    def import_photo(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "选择照片", "", "图片 (*.jpg *.jpeg *.png *.bmp)")
        if path:
            self.load_photo(Path(path))

    def load_photo(self, path: Path) -> None:
        cfg = self.ctx.policy.site
        self.form.photo_hint.info(self.tr("正在处理照片…"))
        run_op(self, self.ctx, lambda: normalise_photo(path.read_bytes(), cfg),
               lambda photo: self.form.set_photo(photo.jpeg, photo.warnings), hint=self.form.photo_hint)

    # -- accepting -----------------------------------------------------------------

    def accept(self) -> None:
        if not self.accept_button.isEnabled():
            return
        request = self.form.request()
        business = self.ctx.policy.catalogue[request.business]
        number = request.applicant.id_number.strip().upper()
        has_stored = self.stored_photo == (number, True)
        if "photo" in request.materials and request.applicant.photo is None and not has_stored:
            self.result.problem(self.tr("已勾选“电子照片”，但还没有导入照片：请点“导入照片…”，或取消勾选（材料不全将退回补材料）。"))
            self.form.photo_button.setFocus()
            return
        missing = business.missing(request.mode, request.materials)
        card = self.form.card_read[0] if self.form.card_read else ""
        if not missing and not confirm_business(self, request.business, request.applicant.name.strip(), card):
            self.result.info(self.tr("未办理：经办人取消了确认，卡片状态没有改变。"))
            return
        if business.pin_pad and not missing:
            self.run_pin_flow(request)
            return
        self.save(request)

    def run_pin_flow(self, request) -> None:
        """启用 / 密码修改: check the whole business on the record side and journal it as pending
        first; only then may the holder type a PIN that goes to the chip (card_business)."""
        reader = self.selected_reader()
        if not reader or not self.cards.readers.get(reader):
            self.result.problem(self.tr("请先把持卡人的社会保障卡插入读卡器，再办理启用或密码修改"))
            return
        ctx = self.ctx
        self.pin_dialog = None
        self.accept_button.setEnabled(False)
        self.result.info("正在核对业务…")

        def work() -> tuple[bool, str]:
            done_before = card_business.resumable(ctx.store, request)
            if done_before is not None:
                return True, done_before
            return False, card_business.prepare(ctx.store, request, ctx.clerk, ctx.site, ctx.policy, reader)

        def checked(result: tuple[bool, str]) -> None:
            already_on_chip, journal_id = result
            if already_on_chip:  # the chip was changed last time; only the case is missing
                self.save(request, journal_id)
            else:
                self._open_pin_dialog(request, reader, journal_id)

        run_op(self, self.ctx, work, checked, failed=self.failed, title=self.tr("未能受理"))

    def _open_pin_dialog(self, request, reader: str, journal_id: str) -> None:
        self.accept_button.setEnabled(True)
        self.result.info("请持卡人输入密码")
        dialog = PinDialog(self.cards, reader, self.ctx.policy.site.initial_pin,
                           change=request.business == BusinessCode.PIN_CHANGE, pin_length=self.ctx.policy.site.pin_length, large=request.large_print, parent=self)
        dialog.succeeded.connect(lambda: self.save(request, journal_id))
        dialog.rejected.connect(lambda: self._pin_dialog_closed(dialog, journal_id))
        self.pin_dialog = dialog
        dialog.open()

    def _pin_dialog_closed(self, dialog, journal_id: str) -> None:
        """Closed without success: the chip is unchanged, unless a command's outcome is unknown."""
        if dialog.outcome_unknown:
            self.result.problem("密码操作结果不确定（读卡器无响应或卡被拔出），已记入待核对记录；请重新读卡核对")
            return
        ctx = self.ctx
        run_op(self, ctx, lambda: card_business.chip_unchanged(ctx.store, journal_id, ctx.clerk, ctx.site,
                                                               refused=dialog.refusals > 0, detail=dialog.last_detail),
               failed=self.failed, title=self.tr("未能受理"), changes={"cards"})

    def save(self, request, journal_id: str | None = None) -> None:
        ctx = self.ctx
        self.accept_button.setEnabled(False)
        self.result.info(self.tr("正在保存…"))
        business = ctx.policy.catalogue[request.business]

        def work():

            url = central.central_url(ctx.policy)
            if url and business.central_check:  # the card as every window knows it (businesses.toml)
                central.check_person_with_central(ctx.store, url, request.applicant.id_number)
            if journal_id is not None:  # the chip was changed: say so first, then save the case with it
                card_business.chip_changed(ctx.store, journal_id, ctx.clerk, ctx.site)
                case = card_business.record(ctx.store, journal_id, request, ctx.clerk, ctx.site, ctx.policy).case
                saved = {"id": case.id, "number": case.number, "id_number": parse_id_number(
                             request.applicant.id_number, regions=ctx.policy.regions).number, "status": case.status, "missing": [],
                         "promised": case.promised_date, "provisional": case.promise_provisional,
                         "paths": {}, "paper_error": None}
            else:
                with ctx.store.unit(ctx.clerk.id, ctx.workstation, f"intake {request.business}") as s:
                    outcome = accept_case(s, request, s.merge(ctx.clerk), s.merge(ctx.site), ctx.policy)
                    case = outcome.case
                    saved = {"id": case.id, "number": case.number, "id_number": case.person.id_number,
                             "status": case.status, "missing": outcome.missing,
                             "promised": case.promised_date, "provisional": case.promise_provisional,
                             "paths": {}, "paper_error": None}
            try:
                with ctx.store.read() as s:
                    saved["paths"] = render_case(s, saved["id"], ctx.policy, case_folder(ctx.store.path, saved["number"]))
            except ShebaoError as exc:  # the case is saved; only the paper failed
                log.warning("papers for %s failed: %s", saved["number"], exc.detail)
                saved["paper_error"] = exc
            return saved

        run_op(self, self.ctx, work, self.saved, failed=self.failed, title=self.tr("未能受理"),
               changes={"cases", "cards", "people"})

    def failed(self, error: BaseException) -> None:
        """After the presenter has logged it and shown the dialog: the line under the form, the button back."""
        self.accept_button.setEnabled(True)
        self.result.problem(clerk_message(error))

    def saved(self, saved: dict) -> None:
        self.accept_button.setEnabled(True)
        number = saved["number"]
        if saved["missing"]:
            names = "、".join(self.ctx.policy.catalogue.material_name(m) for m in saved["missing"])
            text = f"材料不全，已登记为“退回补材料”（{number}）。尚缺：{names}。请打印一次性告知单交申请人。"
        elif saved["promised"]:
            text = f"已受理，受理编号 {number}，承诺 {saved['promised']:%Y年%m月%d日} 办结。"
            if saved["provisional"]:
                text += "（预计：该日期所在年份的法定节假日安排尚未公布，按暂定日历计算，回执上已注明“预计”。）"
        else:
            text = f"已办结，受理编号 {number}。"
        if saved["paper_error"] is not None:
            text += f" 但打印文件未能生成：{clerk_message(saved['paper_error'])}"
            self.result.problem(text)
        else:
            self.result.fine(text)
        self.last_paths = saved["paths"]
        self.last_case_id = saved["id"]
        self.last_case = number
        self.last_id = saved.get("id_number", "")
        self._show_doc_buttons()
        self.form.clear()
        self.draft.clear()
        self.case_saved.emit(saved)
        if self.last_paths and self.ctx.auto_preview:
            self.preview(next(iter(self.last_paths)))

    def doc_button_list(self) -> list[QPushButton]:
        return [self.doc_buttons.itemAt(i).widget()  # type: ignore[misc,union-attr]  # the row holds only its buttons
                for i in range(self.doc_buttons.count())]

    def _show_doc_buttons(self) -> None:
        while self.doc_buttons.count():
            item = self.doc_buttons.takeAt(0)
            item.widget().deleteLater()  # type: ignore[union-attr]  # count() > 0, and the row holds only buttons
        # The papers belong to one case: say which, so no one hands over the previous person's.
        self.doc_case.setText(self.tr("受理编号 {0} 的文件：").format(self.last_case) if self.last_paths else "")
        for kind in self.last_paths:
            button = named(QPushButton(f"预览/打印{DOC_TITLES[kind]}"), f"preview_{kind}")
            button.clicked.connect(lambda _=False, k=kind: self.preview(k))
            self.doc_buttons.addWidget(button)

    def _other_applicant(self, id_number: str) -> None:
        if self.last_paths and id_number != self.last_id:
            self.forget_documents()

    def forget_documents(self) -> None:
        """清空 or a new applicant: the previous case's papers leave the screen."""
        self.last_paths = {}
        self.last_case = ""
        for button in self.doc_button_list():
            button.setEnabled(False)
        self.doc_case.setText("")
        for dialog in self.previews:
            dialog.close()
        self.previews = []

    def preview(self, kind: str) -> None:
        if kind not in self.last_paths:
            return
        dialog = PreviewDialog(self.last_paths[kind], self.ctx.printer, self, DOC_TITLES[kind],
                               on_result=case_print_recorder(self.ctx, self.last_case_id))  # type: ignore[arg-type]  # set with last_paths
        self.previews.append(dialog)
        dialog.show()

    # -- drafts --------------------------------------------------------------------

    def save_draft(self) -> None:
        if self.form.is_blank():
            self.draft.clear()
        else:
            self.draft.save(self.form.state())

    def restore_draft(self) -> None:
        state = self.draft.load()
        if state:
            self.form.restore(state)
            self.result.info(self.tr("已恢复上次未完成的填写。"))

    def clear(self) -> None:
        self.form.clear()
        self.draft.clear()
        self.forget_documents()
        self.result.info("")
        self.card_status.info("")
        self.form.id_number.setFocus(Qt.FocusReason.ShortcutFocusReason)
