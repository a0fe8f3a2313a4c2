"""The applicant's side joined to the intake page: their screen follows the clerk's case, and the
PIN of 启用 / 密码修改 is typed by the holder (reader keypad, else the applicant screen's keypad).

Hooked into the intake page by two calls (``ApplicantSide(page)``, ``open_pin_entry``); all the
rest lives here, in :mod:`applicant_screen` and in the Qt-free services.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from shebao_desk.config.applicant_settings import ApplicantSettings, load_applicant_settings
from shebao_desk.config.catalogue import BusinessCode
from shebao_desk.devices.errors import PinBlockedError
from shebao_desk.devices.operations import activate, change_pin
from shebao_desk.devices.pinpad_operations import change_on_pad, pad_support
from shebao_desk.services.applicant_view import ApplicantView, record_confirmation, view_of_case, view_of_request
from shebao_desk.services.case_request import CaseRequest
from shebao_desk.services.intake_service import Submitted
from shebao_desk.services.ratings import record_rating
from shebao_desk.services.signature import sign_form
from shebao_desk.ui.applicant_screen import ApplicantScreen
from shebao_desk.ui.applicant_signature import png_of
from shebao_desk.ui.errors import clerk_message
from shebao_desk.ui.ops import run_op
from shebao_desk.ui.pin_dialog import PinDialog, pin_failure

# The intake page (ui/pages/intake.py), which holds an ApplicantSide: named by its role, not imported.
IntakePage = Any

log = logging.getLogger(__name__)


class ApplicantSide(QObject):
    """Follows the intake page: preview while the clerk types, the saved case to confirm, then
    the signature (when the county signs on screen) and the rating; then idle again."""

    def __init__(self, page: IntakePage, settings: ApplicantSettings | None = None) -> None:
        super().__init__(page)
        self.page, self.ctx = page, page.ctx
        self.settings = settings or load_applicant_settings()
        self.preview: ApplicantView | None = None
        self.case: ApplicantView | None = None
        self.saved: Submitted | None = None
        self.on_monitor = False
        monitor = self.settings.screen.monitor
        self.screen = ApplicantScreen(self.settings, self.ctx.policy.site.window_name, page) if monitor else None
        if self.screen is None:
            return
        self._typing = QTimer(self, singleShot=True, interval=250)
        self._typing.timeout.connect(self.follow_form)
        page.form.changed.connect(self._typing.start)
        page.case_saved.connect(self.show_saved)
        self.screen.confirmed.connect(self.confirm)
        self.screen.signed.connect(self.sign)
        self.screen.rating.rated.connect(self.rate)
        self.on_monitor = self.screen.place(monitor)

    # -- following the clerk ---------------------------------------------------------

    def follow_form(self) -> None:
        screen, form = self.screen, self.page.form
        if screen is None:
            return
        typing_pin = screen.pages.currentWidget() is screen.pin_page  # the view is kept, the keypad stays up
        if form.is_blank():
            if typing_pin:
                return
            if self.case is None:  # a saved case stays up for its confirmation and rating
                self.preview = None
                screen.show_idle()
            return
        if self.case is not None and not typing_pin:
            # The clerk has moved on to the next applicant: the last one's case leaves the screen unrated.
            self.case = self.saved = None
        try:
            self.preview = view_of_request(form.request(), self.ctx.policy)
        except Exception:  # noqa: BLE001 - a half-typed form: keep the last view
            log.debug("no applicant view of the form yet", exc_info=True)
            return
        if not typing_pin:
            screen.show_case(self.preview, confirm=False)

    def submitting(self, request: CaseRequest) -> None:
        """The request the page is saving: what the saved case will show (not a debounced preview)."""
        if self.screen is not None:
            self.preview = view_of_request(request, self.ctx.policy)

    def show_saved(self, saved: Submitted) -> None:
        if self.screen is None or self.preview is None:
            return
        self.saved = saved
        self.case = view_of_case(self.preview, saved.case_id, saved.number, saved.promised, saved.provisional)
        self.screen.show_case(self.case, confirm=True)

    # -- the applicant's acts ----------------------------------------------------------

    def confirm(self) -> None:
        case, ctx = self.case, self.ctx
        if case is None:
            return
        run_op(self.page, ctx, lambda: record_confirmation(ctx.store, ctx.actor, case), lambda _: self._after_confirm(),
               changes={"cases"})

    def _after_confirm(self) -> None:
        assert self.screen is not None
        saved = self.saved
        if self.settings.signature.mode == "screen" and saved is not None and "business_form" in saved.papers:
            self.screen.ask_signature()
        else:
            self.screen.ask_rating()

    def sign(self) -> None:
        screen, saved, ctx = self.screen, self.saved, self.ctx
        if screen is None or saved is None:
            return
        png = png_of(screen.signature_pad.image())
        run_op(self.page, ctx, lambda: sign_form(ctx.store, ctx.actor, ctx.policy, saved.case_id, png),
               lambda _: screen.ask_rating(), changes={"cases"})

    def rate(self, level: str, reasons: list[str]) -> None:
        saved, ctx, settings = self.saved, self.ctx, self.settings
        if saved is None:
            return
        run_op(self.page, ctx, lambda: record_rating(ctx.store, ctx.actor, settings, ctx.policy.calendar,
                                                     saved.case_id, level, reasons),
               lambda _: self.done(), changes={"cases"})

    def done(self) -> None:
        self.case = self.saved = self.preview = None
        if self.screen is not None:
            self.screen.show_idle()


class ApplicantPinEntry(QObject):
    """启用 / 密码修改 with the PIN typed by the holder: on the reader's keypad when it has one
    (PC/SC part 10: the PIN never reaches this PC), else on the applicant screen's shuffled keypad.
    The same face to the intake page as the clerk's PinDialog."""

    succeeded = Signal()
    rejected = Signal()

    def __init__(self, page: IntakePage, screen: ApplicantScreen, reader: str, *, change: bool) -> None:
        super().__init__(page)
        self.page, self.screen, self.reader, self.change = page, screen, reader, change
        self.site = page.ctx.policy.site
        self.refusals = 0
        self.outcome_unknown = False
        self.last_detail = ""
        self.on_pad = False
        self._typed: list[str] = []
        self._steps: list[str] = []
        screen.keypad.entered.connect(self._entered)
        screen.pin_cancelled.connect(self.cancel)

    def _finish(self) -> None:
        """This entry is over: it answers the keypad no more (the next 启用 gets an entry of its own)."""
        self._steps, self._typed = [], []
        self.screen.keypad.take()
        self.screen.keypad.entered.disconnect(self._entered)
        self.screen.pin_cancelled.disconnect(self.cancel)

    def open(self) -> None:
        cards, reader = self.page.cards, self.reader
        cards.run(lambda open_card: pad_support(open_card, reader), self._supported,
                  lambda error: self._supported(None), reader)

    def _supported(self, support: Any) -> None:
        if support is not None and support.usable:
            self._use_reader_keypad()
        else:
            self._ask_from_start("")

    def _use_reader_keypad(self) -> None:
        self.on_pad = True
        self.page.result.info("请持卡人在读卡器的密码键盘上输入密码")
        self.screen.pin_message.setText("请在读卡器的密码键盘上输入密码，按确认键结束")
        self.screen.pages.setCurrentWidget(self.screen.pin_page)
        reader, length, initial = self.reader, self.site.pin_length, self.site.initial_pin
        current = None if self.change else initial
        self.page.cards.run(lambda open_card: change_on_pad(open_card, reader, length, current), self._done,
                            self._failed, reader)

    def _ask_from_start(self, message: str) -> None:
        self._typed = []
        self._steps = (["请输入原密码"] if self.change else []) + ["请输入新密码", "请再输一次新密码"]
        self.page.result.info("请持卡人在申请人屏幕上输入密码（经办人请回避）")
        self.screen.pin_message.setText(message)
        self._next()

    def _next(self) -> None:
        prompt = self._steps[len(self._typed)]
        self.screen.ask_pin(f"{prompt}（{self.site.pin_length} 位数字）", self.site.pin_length)

    def _entered(self) -> None:
        if not self._steps or len(self._typed) >= len(self._steps):
            return
        self._typed.append(self.screen.keypad.take())
        if len(self._typed) < len(self._steps):
            self._next()
            return
        typed, self._typed = self._typed, []
        reader, length, initial = self.reader, self.site.pin_length, self.site.initial_pin
        self.screen.pin_message.setText("正在写入卡片，请稍候…")
        if self.change:
            old, new, confirm = typed
            job = lambda open_card: change_pin(open_card, old, new, confirm, initial=initial, reader=reader,  # noqa: E731
                                               pin_length=length)
        else:
            new, confirm = typed
            job = lambda open_card: activate(open_card, initial, new, confirm, reader=reader, pin_length=length)  # noqa: E731
        del typed
        self.page.cards.run(job, self._done, self._failed, reader)

    def _done(self, _result: object) -> None:
        self._finish()
        self.screen.pin_message.setText("密码已设置")
        self.succeeded.emit()

    def _failed(self, error: BaseException) -> None:
        self.last_detail = getattr(error, "detail", repr(error))
        refused, unknown = pin_failure(error)
        self.refusals += refused
        self.outcome_unknown = self.outcome_unknown or unknown
        text = clerk_message(error)
        self.page.result.problem(text)
        if self.outcome_unknown or isinstance(error, PinBlockedError) or self.on_pad:
            self._finish()
            self.screen.pin_message.setText(text)
            self.rejected.emit()
            return
        self._ask_from_start(text)

    def cancel(self) -> None:
        self._finish()
        self.screen.show_idle()
        self.rejected.emit()


def open_pin_entry(page: IntakePage, request: CaseRequest, reader: str) -> PinDialog | ApplicantPinEntry:
    """The county's choice (resources/applicant.toml [pin] entry): the holder types on their side,
    or — only where switched on — the clerk's PIN dialog."""
    side: ApplicantSide | None = getattr(page, "applicant", None)
    change = request.business == BusinessCode.PIN_CHANGE
    site = page.ctx.policy.site
    if side is None or side.screen is None or side.settings.pin.entry == "clerk":
        return PinDialog(page.cards, reader, site.initial_pin, change=change, pin_length=site.pin_length,
                         large=request.large_print, parent=page)
    return ApplicantPinEntry(page, side.screen, reader, change=change)
