"""受理: one form for every business, from the card in the reader to the papers in the applicant's hand.

The page collects the clerk's input (the readers row, the form) and hands it to the intake use cases
(services/intake_service) on the database worker; it shows what they return.

Everything has a key, and the keys work wherever the cursor is in the window (the left-hand list
included): F5 reads the social security card, F6 the ID card (then the cursor goes to the first
field still empty), F7 takes the photo station's newest photo, Ctrl+M ticks the materials,
Ctrl+Enter accepts, Ctrl+P prints every paper of the case, Ctrl+Shift+P through the print dialog,
Ctrl+N clears for the next applicant. A 申领 with the ID card on the reader and the photo taken is
F6, the phone, F7, Ctrl+M, Ctrl+Enter, Ctrl+P.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QStandardPaths, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QApplication, QHBoxLayout, QPushButton, QScrollArea, QVBoxLayout, QWidget

from shebao_desk.clock import today as china_day
from shebao_desk.config.catalogue import BusinessCode
from shebao_desk.services import intake_service
from shebao_desk.services.case_files import draft_path
from shebao_desk.services.case_request import CaseRequest
from shebao_desk.services.drafts import DraftFile
from shebao_desk.services.intake_service import ChipJournal, Lookup, PersonOnFile, Submitted, business_for_card
from shebao_desk.services.photo import PhotoFile, TakenPhoto, normalise_photo, take_newest_photo
from shebao_desk.ui.applicant_side import ApplicantPinEntry, ApplicantSide, open_pin_entry
from shebao_desk.ui.approval_dialog import ask_approval
from shebao_desk.ui.confirm import confirm_business
from shebao_desk.ui.desk_prefs import remember_folder, remembered_folder, settings_for
from shebao_desk.ui.errors import clerk_message
from shebao_desk.ui.file_dialog import first_folder, open_file, standard_folder
from shebao_desk.ui.intake_form import IntakeForm
from shebao_desk.ui.intake_papers import CasePapers
from shebao_desk.ui.intake_readers import CardReaders
from shebao_desk.ui.ops import run_op
from shebao_desk.ui.pin_dialog import PinDialog
from shebao_desk.ui.widgets import Hint, named

if TYPE_CHECKING:
    from shebao_desk.ui.context import AppContext

SUGGESTED_BECAUSE = {
    BusinessCode.ACTIVATE: "卡片尚未启用（或不是本系统发的卡）",
    BusinessCode.LIFT_LOSS: "此卡正在临时挂失中",
    BusinessCode.PIN_CHANGE: "卡片正常使用中",
}


class IntakePage(QWidget):
    case_saved = Signal(object)  # intake_service.Submitted

    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.cards = ctx.card_service
        self.form = IntakeForm(ctx.policy)
        self.card_readers = CardReaders(ctx, self.cards, self.form)
        self.papers = CasePapers(ctx)
        self.lookup: Lookup | None = None  # what the store said of the applicant being typed
        self.taken_photo: PhotoFile | None = None  # the photo station's file the photo on the form came from
        self.photo_used: PhotoFile | None = None  # the file the last accepted case's photo came from
        self.folder_button = named(QPushButton(self.tr("取拍照文件夹最新照片 (F7)")), "photo_folder_button")
        self.form.photo.add_source(self.folder_button)
        QWidget.setTabOrder(self.form.photo.photo_button, self.folder_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.card_readers)
        self.scroll_area = QScrollArea(widgetResizable=True)
        self.scroll_area.setWidget(self.form)
        layout.addWidget(self.scroll_area, 1)
        self.result = Hint("result", collapse=True)
        self.pin_dialog: PinDialog | ApplicantPinEntry | None = None  # the PIN dialog of the running 启用 / 密码修改, once the record side agreed
        layout.addWidget(self.result)
        layout.addWidget(self.papers)
        buttons = QHBoxLayout()
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
        self.folder_button.clicked.connect(self.take_photo_from_folder)
        self.form.id_number_valid.connect(self.look_up_person)
        self.form.id_number_valid.connect(self.other_applicant)
        self.card_readers.idcard_filled.connect(self.after_id_card)
        for keys, slot in (("F5", self.card_readers.read_selected), ("F6", self.card_readers.read_idcard),
                           ("F7", self.take_photo_from_folder),
                           ("Ctrl+Return", self.accept), ("Ctrl+Enter", self.accept),
                           ("Ctrl+N", self.clear), ("Ctrl+M", self.form.tick_all),
                           ("Ctrl+P", self.papers.print_all), ("Ctrl+Shift+P", self.papers.print_with_dialog)):
            # Ctrl+A stays "select all" in the text fields; M for 材料. The whole window, while this
            # page shows: after login the cursor may still be in the left-hand list (D1).
            QShortcut(QKeySequence(keys), self, context=Qt.ShortcutContext.WindowShortcut).activated.connect(slot)

        clerk = ctx.clerk.id if ctx.clerk is not None else "none"
        # Each clerk's own draft: a supervisor's half-typed form never appears in a clerk's session.
        self.draft = DraftFile(draft_path(ctx.store_path, f"intake-{ctx.workstation}-{clerk}"))
        self._draft_timer = QTimer(self, singleShot=True, interval=400)
        self._draft_timer.timeout.connect(self.save_draft)
        self.form.changed.connect(self._draft_timer.start)
        self.restore_draft()
        # issue 28: the applicant's screen follows this page (ui/applicant_side.py).
        self.applicant = ApplicantSide(self)

    # -- the cursor ----------------------------------------------------------------------

    def focus_first(self) -> None:
        """After login, a page switch or 清空: the cursor in 身份证号码 (or back where it was, mid-form)."""
        current = QApplication.focusWidget()
        if current is not None and self.form.isAncestorOf(current) and not self.form.is_blank():
            return
        self.focus_field(self.form.applicant.id_number)

    def focus_field(self, field: QWidget) -> None:
        field.setFocus(Qt.FocusReason.OtherFocusReason)
        self.scroll_area.ensureWidgetVisible(field)

    def after_id_card(self) -> None:
        """F6 filled the form: on to the first field still empty (the phone, usually)."""
        agent = self.form.agent
        empty: QWidget | None
        if agent.isVisible() and agent.agent_name.text().strip():
            empty = next((f for f in (agent.agent_relation, agent.agent_phone) if not f.text().strip()), None)
        else:
            empty = self.form.first_empty_required()
        if empty is not None:
            self.focus_field(empty)

    # -- person and photo ----------------------------------------------------------

    def look_up_person(self, id_number: str) -> None:
        ctx = self.ctx
        run_op(self, ctx, lambda: intake_service.look_up_person(ctx.store, ctx.policy, id_number),
               self.show_person, hint=self.form.applicant.person_status)

    def other_applicant(self, id_number: str) -> None:
        """Another applicant's ID number: the previous one's case, papers and lines leave the screen."""
        if self.papers.case is not None and id_number != self.papers.case.id_number:
            self.papers.other_applicant(id_number)
            self.result.info("")

    def show_person(self, lookup: Lookup) -> None:
        status = self.form.applicant.person_status
        if self.form.applicant.typed_id_number() != lookup.id_number:
            return  # the clerk typed on meanwhile
        self.lookup = lookup
        person = lookup.person
        if lookup.central_problem:  # central could not be asked; the clerk goes on with the papers
            status.info(lookup.central_problem)
        elif person is None:
            status.info(self.tr("新申请人（系统中尚无记录）"))
        else:
            self.form.fill_from_person(person)
            card = f"社会保障卡 {person.card_number}" if person.card_number else "社会保障卡（尚无卡号）"
            status.info(f"系统记录：{person.name}，{card}：{person.card_state}")
        if person is not None and person.returned:
            self.continue_returned(person)
        else:
            self.suggest_for_card(person)

    def continue_returned(self, person: PersonOnFile) -> None:
        """The applicant comes back with what was missing: the waiting case's business, mode and the
        materials handed in last time, ticked (the notice promised they need not be brought again)."""
        waiting = person.returned[0]
        catalogue = self.ctx.policy.catalogue
        names = "、".join(catalogue.material_name(m) for m in waiting.missing)
        business = catalogue[waiting.business].name
        if self.form.suggest_business(waiting.business, ""):
            index = self.form.mode.findData(waiting.mode)
            if index >= 0:
                self.form.mode.setCurrentIndex(index)
            self.form.materials.tick(waiting.materials)
            self.form.business_hint.problem(
                f"该申请人有退回补材料的{business}业务（{waiting.number}），已按上次选择业务并勾选已交的材料；"
                f"上次尚缺：{names}。补齐后受理，接续原受理编号。")
        else:
            self.form.business_hint.problem(f"该申请人有退回补材料的{business}业务（{waiting.number}），尚缺：{names}。")

    def suggest_for_card(self, person: PersonOnFile | None) -> None:
        """A social security card in the reader: suggest what it most likely came for."""
        applicant = self.form.applicant
        if applicant.card_read is None or applicant.origins.get("id_number") != "ss_card":
            return
        code = business_for_card(person, applicant.card_read[0])
        if code is None:
            return
        name = self.ctx.policy.catalogue[code].name
        self.form.suggest_business(code, f"已按卡片选择“{name}”业务：{SUGGESTED_BECAUSE[code]}；如办理其他业务请改选")

    def import_photo(self) -> None:
        settings = settings_for(self.ctx.store.path)
        folder = first_folder([self.photo_folder(), remembered_folder(settings, "photo"),
                               standard_folder(QStandardPaths.StandardLocation.PicturesLocation)])
        path = open_file(self, self.tr("选择照片"), folder, self.tr("图片 (*.jpg *.jpeg *.png *.bmp)"))
        if path is not None:
            remember_folder(settings, "photo", path.parent)
            self.load_photo(path)

    def load_photo(self, path: Path) -> None:
        cfg = self.ctx.policy.site
        hint = self.form.photo.photo_hint
        hint.info(self.tr("正在处理照片…"))
        self.taken_photo = None
        run_op(self, self.ctx, lambda: normalise_photo(path.read_bytes(), cfg),
               lambda photo: self.form.set_photo(photo.jpeg, photo.warnings), hint=hint)

    def photo_folder(self) -> Path | None:
        """The photo station's folder: this PC's (SHEBAO_PHOTO_FOLDER), else the county's (site.toml)."""
        folder = self.ctx.photo_folder or os.environ.get("SHEBAO_PHOTO_FOLDER", "") or \
            self.ctx.policy.site.photo_watch_folder
        return Path(folder).expanduser() if folder.strip() else None

    def take_photo_from_folder(self) -> None:
        """F7: the newest photo the photo station (camera, 高拍仪) saved, checked against the standard."""
        folder, cfg, used = self.photo_folder(), self.ctx.policy.site, self.photo_used
        hint = self.form.photo.photo_hint
        hint.info(self.tr("正在取照片…"))

        def taken(result: TakenPhoto) -> None:
            self.taken_photo = result.source
            self.form.set_photo(result.photo.jpeg, result.photo.warnings)
            if not result.photo.warnings:
                hint.fine(self.tr("照片符合标准（取自 {0}）").format(result.source.path.name))

        run_op(self, self.ctx, lambda: take_newest_photo(folder or Path(), cfg, used), taken, hint=hint)

    # -- accepting -----------------------------------------------------------------

    def card_on_file(self, request: CaseRequest) -> str:
        """The number of the card this business is about: the reader's, else the applicant's card on file."""
        if request.card_read:
            return request.card_read[0]
        lookup = self.lookup
        if lookup is not None and lookup.person is not None and lookup.id_number == self.form.applicant.typed_id_number():
            return lookup.person.card_number
        return ""

    def accept(self) -> None:
        if not self.accept_button.isEnabled():
            return
        request = self.form.request()
        business = self.ctx.policy.catalogue[request.business]
        if self.form.photo_missing():
            self.result.problem(self.tr("已勾选“电子照片”，但还没有照片：请按 F7 取拍照文件夹的照片，或点“导入照片…”，"
                                        "或取消勾选（材料不全将退回补材料）。"))
            self.focus_field(self.form.photo.photo_button)
            return
        age = self.form.applicant_age()
        waived = self.ctx.policy.catalogue.waived(age, request.materials)
        missing = business.missing(request.mode, request.materials, waived, changes=request.changes)
        expired = request.id_card_valid_to is not None and request.id_card_valid_to < china_day()
        if business.needs_valid_id and expired:
            request.approval = ask_approval(self, self.tr(
                "申请人的身份证已于 {0:%Y-%m-%d} 过期。{1}须出示本人有效的居民身份证（第十三条），不能受理。"
                "确需受理的，请主管输入用户名和密码，并写明原因（记入该业务的操作记录）。").format(
                    request.id_card_valid_to, business.name))
            if request.approval is None:
                self.result.problem(self.tr("未受理：身份证已过期，主管未授权。请申请人持有效身份证件办理。"))
                return
        fee = business.fee_for(request.reason)
        fee_text = business.fee_text(fee) if fee else ""
        if not missing and not confirm_business(self, request.business, request.applicant.name.strip(),
                                                self.card_on_file(request), fee_text):
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
        photo_source = self.taken_photo if request.applicant.photo else None
        run_op(self, ctx, lambda: intake_service.submit(ctx.store, request, actor, ctx.policy, journal_id=journal_id),
               lambda saved: self.saved(saved, photo_source), failed=self.failed, title=self.tr("未能受理"),
               changes={"cases", "cards", "people"})

    def failed(self, error: BaseException) -> None:
        """After the presenter has logged it and shown the dialog: the line under the form, the button back."""
        self.accept_button.setEnabled(True)
        self.result.problem(clerk_message(error))

    def saved(self, saved: Submitted, photo_source: PhotoFile | None = None) -> None:
        self.accept_button.setEnabled(True)
        number = saved.number
        if saved.missing:
            names = "、".join(self.ctx.policy.catalogue.material_name(m) for m in saved.missing)
            text = f"材料不全，已登记为“退回补材料”（{number}）。尚缺：{names}。请打印一次性告知单交申请人（Ctrl+P）。"
        elif saved.promised:
            text = f"已受理，受理编号 {number}，承诺 {saved.promised:%Y年%m月%d日} 办结。打印办理表和回执：Ctrl+P。"
            if saved.provisional:
                text += "（预计：该日期所在年份的法定节假日安排尚未公布，按暂定日历计算，回执上已注明“预计”。）"
        else:
            text = f"已办结，受理编号 {number}。打印：Ctrl+P。"
        if saved.paper_error is not None:
            text += f" 但打印文件未能生成：{clerk_message(saved.paper_error)}"
            self.result.problem(text)
        else:
            self.result.fine(text)
        if photo_source is not None:
            self.photo_used = photo_source  # the next applicant must not get this face again by F7
        self.papers.show_case(saved)
        self._reset_form()
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

    def _reset_form(self) -> None:
        self.form.clear()
        self.draft.clear()
        self.lookup = None
        self.taken_photo = None
        self.card_readers.card_status.info("")
        self.scroll_area.verticalScrollBar().setValue(0)
        self.focus_field(self.form.applicant.id_number)

    def clear(self) -> None:
        """Ctrl+N, the next applicant: every field, the business and mode, every line, back to the top."""
        self._reset_form()
        self.papers.forget()
        self.result.info("")
