"""受理: one form for every business, from the card in the reader to the papers in the applicant's hand.

The page collects the clerk's input (the readers row, the form) and hands it to the intake use cases
(services/intake_service) on the database worker; it shows what they return.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QPushButton, QScrollArea, QVBoxLayout, QWidget

from shebao_desk.services import intake_service
from shebao_desk.services.case_files import draft_path
from shebao_desk.services.case_request import CaseRequest
from shebao_desk.services.drafts import DraftFile
from shebao_desk.services.intake_service import ChipJournal, Lookup, Submitted
from shebao_desk.services.photo import normalise_photo
from shebao_desk.ui.applicant_side import ApplicantPinEntry, ApplicantSide, open_pin_entry
from shebao_desk.ui.confirm import confirm_business
from shebao_desk.ui.errors import clerk_message
from shebao_desk.ui.intake_form import IntakeForm
from shebao_desk.ui.intake_papers import CasePapers
from shebao_desk.ui.intake_readers import CardReaders
from shebao_desk.ui.ops import run_op
from shebao_desk.ui.pin_dialog import PinDialog
from shebao_desk.ui.widgets import Hint, named

if TYPE_CHECKING:
    from shebao_desk.ui.context import AppContext


class IntakePage(QWidget):
    case_saved = Signal(object)  # intake_service.Submitted

    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.cards = ctx.card_service
        self.form = IntakeForm(ctx.policy)
        self.card_readers = CardReaders(ctx, self.cards, self.form)
        self.papers = CasePapers(ctx)
        layout = QVBoxLayout(self)
        layout.addWidget(self.card_readers)
        scroll = QScrollArea(widgetResizable=True)
        scroll.setWidget(self.form)
        layout.addWidget(scroll, 1)
        self.result = Hint("result")
        self.pin_dialog: PinDialog | ApplicantPinEntry | None = None  # the PIN dialog of the running 启用 / 密码修改, once the record side agreed
        layout.addWidget(self.result)
        buttons = QHBoxLayout()
        buttons.addWidget(self.papers)
        buttons.addStretch(1)
        self.tick_button = named(QPushButton(self.tr("材料全选 (Ctrl+M)")), "tick_all")
        self.clear_button = named(QPushButton(self.tr("清空 (Ctrl+N)")), "clear")
        self.accept_button = named(QPushButton(self.tr("受理 (Ctrl+Enter)")), "accept")
        self.accept_button.setStyleSheet("font-weight:bold;padding:6px 18px")
        for b in (self.tick_button, self.clear_button, self.accept_button):
            buttons.addWidget(b)
        layout.addLayout(buttons)

        self.tick_button.clicked.connect(self.form.tick_all)
        self.clear_button.clicked.connect(self.clear)
        self.accept_button.clicked.connect(self.accept)
        self.form.photo.photo_button.clicked.connect(self.import_photo)
        self.form.id_number_valid.connect(self.look_up_person)
        self.form.id_number_valid.connect(self.papers.other_applicant)
        for keys, slot in (("F5", self.card_readers.read_selected), ("F6", self.card_readers.read_idcard),
                           ("Ctrl+Return", self.accept), ("Ctrl+Enter", self.accept),
                           ("Ctrl+N", self.clear), ("Ctrl+M", self.form.tick_all)):
            # Ctrl+A stays "select all" in the text fields; M for 材料.
            QShortcut(QKeySequence(keys), self, context=Qt.ShortcutContext.WidgetWithChildrenShortcut).activated.connect(slot)

        self.draft = DraftFile(draft_path(ctx.store_path, f"intake-{ctx.workstation}"))
        self._draft_timer = QTimer(self, singleShot=True, interval=400)
        self._draft_timer.timeout.connect(self.save_draft)
        self.form.changed.connect(self._draft_timer.start)
        self.restore_draft()
        # issue 28: the applicant's screen follows this page (ui/applicant_side.py).
        self.applicant = ApplicantSide(self)

    # -- person and photo ----------------------------------------------------------

    def look_up_person(self, id_number: str) -> None:
        ctx = self.ctx
        run_op(self, ctx, lambda: intake_service.look_up_person(ctx.store, ctx.policy, id_number),
               self.show_person, hint=self.form.applicant.person_status)

    def show_person(self, lookup: Lookup) -> None:
        status = self.form.applicant.person_status
        if self.form.applicant.typed_id_number() != lookup.id_number:
            return  # the clerk typed on meanwhile
        person = lookup.person
        if lookup.central_problem:  # central could not be asked; the clerk goes on with the papers
            status.info(lookup.central_problem)
        elif person is None:
            status.info(self.tr("新申请人（系统中尚无记录）"))
        else:
            self.form.fill_from_person(person)
            status.info(f"系统记录：{person.name}，社会保障卡 {person.card_number or '（卡号未登记）'}：{person.card_state}")

    def import_photo(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "选择照片", "", "图片 (*.jpg *.jpeg *.png *.bmp)")
        if path:
            self.load_photo(Path(path))

    def load_photo(self, path: Path) -> None:
        cfg = self.ctx.policy.site
        hint = self.form.photo.photo_hint
        hint.info(self.tr("正在处理照片…"))
        run_op(self, self.ctx, lambda: normalise_photo(path.read_bytes(), cfg),
               lambda photo: self.form.set_photo(photo.jpeg, photo.warnings), hint=hint)

    # -- accepting -----------------------------------------------------------------

    def accept(self) -> None:
        if not self.accept_button.isEnabled():
            return
        request = self.form.request()
        business = self.ctx.policy.catalogue[request.business]
        if self.form.photo_missing():
            self.result.problem(self.tr("已勾选“电子照片”，但还没有导入照片：请点“导入照片…”，或取消勾选（材料不全将退回补材料）。"))
            self.form.photo.photo_button.setFocus()
            return
        missing = business.missing(request.mode, request.materials)
        card = request.card_read[0] if request.card_read else ""
        if not missing and not confirm_business(self, request.business, request.applicant.name.strip(), card):
            self.result.info(self.tr("未办理：经办人取消了确认，卡片状态没有改变。"))
            return
        if business.pin_pad and not missing:
            self.run_pin_flow(request)
            return
        self.save(request)

    def run_pin_flow(self, request: CaseRequest) -> None:
        """启用 / 密码修改: the record side checks the whole business and journals it as pending
        first; only then may the holder type a PIN that goes to the chip (intake_service)."""
        reader = self.card_readers.selected_reader()
        if reader is None or not self.card_readers.holds_card(reader):
            self.result.problem(self.tr("请先把持卡人的社会保障卡插入读卡器，再办理启用或密码修改"))
            return
        ctx, actor = self.ctx, self.ctx.actor
        self.pin_dialog = None
        self.accept_button.setEnabled(False)
        self.result.info("正在核对业务…")

        def checked(journal: ChipJournal) -> None:
            if journal.already_changed:  # the chip was changed last time; only the case is missing
                self.save(request, journal.journal_id)
            else:
                self._open_pin_dialog(request, reader, journal.journal_id)

        run_op(self, ctx, lambda: intake_service.begin_chip_business(ctx.store, request, actor, ctx.policy, reader),
               checked, failed=self.failed, title=self.tr("未能受理"))

    def _open_pin_dialog(self, request: CaseRequest, reader: str, journal_id: str) -> None:
        self.accept_button.setEnabled(True)
        self.result.info("请持卡人输入密码")
        dialog = open_pin_entry(self, request, reader)  # issue 28: the holder types, not the clerk
        dialog.succeeded.connect(lambda: self.save(request, journal_id))
        dialog.rejected.connect(lambda: self._pin_dialog_closed(dialog, journal_id))
        self.pin_dialog = dialog
        dialog.open()

    def _pin_dialog_closed(self, dialog: PinDialog | ApplicantPinEntry, journal_id: str) -> None:
        """Closed without success: the chip is unchanged, unless a command's outcome is unknown."""
        if dialog.outcome_unknown:
            self.result.problem("密码操作结果不确定（读卡器无响应或卡被拔出），已记入待核对记录；请重新读卡核对")
            return
        ctx, actor = self.ctx, self.ctx.actor
        refused, detail = dialog.refusals > 0, dialog.last_detail
        run_op(self, ctx, lambda: intake_service.chip_left_unchanged(ctx.store, journal_id, actor, refused=refused,
                                                                     detail=detail),
               failed=self.failed, title=self.tr("未能受理"), changes={"cards"})

    def save(self, request: CaseRequest, journal_id: str | None = None) -> None:
        ctx, actor = self.ctx, self.ctx.actor
        self.applicant.submitting(request)  # issue 28: the applicant's screen shows exactly this request
        self.accept_button.setEnabled(False)
        self.result.info(self.tr("正在保存…"))
        run_op(self, ctx, lambda: intake_service.submit(ctx.store, request, actor, ctx.policy, journal_id=journal_id),
               self.saved, failed=self.failed, title=self.tr("未能受理"), changes={"cases", "cards", "people"})

    def failed(self, error: BaseException) -> None:
        """After the presenter has logged it and shown the dialog: the line under the form, the button back."""
        self.accept_button.setEnabled(True)
        self.result.problem(clerk_message(error))

    def saved(self, saved: Submitted) -> None:
        self.accept_button.setEnabled(True)
        number = saved.number
        if saved.missing:
            names = "、".join(self.ctx.policy.catalogue.material_name(m) for m in saved.missing)
            text = f"材料不全，已登记为“退回补材料”（{number}）。尚缺：{names}。请打印一次性告知单交申请人。"
        elif saved.promised:
            text = f"已受理，受理编号 {number}，承诺 {saved.promised:%Y年%m月%d日} 办结。"
            if saved.provisional:
                text += "（预计：该日期所在年份的法定节假日安排尚未公布，按暂定日历计算，回执上已注明“预计”。）"
        else:
            text = f"已办结，受理编号 {number}。"
        if saved.paper_error is not None:
            text += f" 但打印文件未能生成：{clerk_message(saved.paper_error)}"
            self.result.problem(text)
        else:
            self.result.fine(text)
        self.papers.show_case(saved)
        self.form.clear()
        self.draft.clear()
        self.case_saved.emit(saved)
        if saved.papers and self.ctx.auto_preview:
            self.papers.preview(next(iter(saved.papers)))

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
        self.papers.forget()
        self.result.info("")
        self.card_readers.card_status.info("")
        self.form.applicant.id_number.setFocus(Qt.FocusReason.ShortcutFocusReason)
