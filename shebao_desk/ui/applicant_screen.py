"""The applicant's screen: a second top-level window facing the applicant (large type, Chinese).

It shows only what :mod:`shebao_desk.services.applicant_view` gives it for the one case at the
counter; its pages are the idle screen (window name and service guide, Art. 8), the case to
confirm, the PIN keypad, the signature pad and the rating. It is touch-driven: it never takes
the keyboard focus, so nothing the clerk types lands here and nothing typed here reaches the clerk.
"""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QStackedWidget, QVBoxLayout, QWidget

from shebao_desk.config.applicant_settings import ApplicantSettings
from shebao_desk.config.service_guide import load_guide
from shebao_desk.services.applicant_view import ApplicantView
from shebao_desk.ui.applicant_widgets import Keypad, RatingPanel, SignaturePad, touch_only
from shebao_desk.ui.widgets import named


class ApplicantScreen(QWidget):
    """The window itself: one page at a time, each for the one case at the counter."""

    confirmed = Signal()
    signed = Signal()
    pin_cancelled = Signal()

    def __init__(self, settings: ApplicantSettings, window_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window | Qt.WindowType.WindowDoesNotAcceptFocus)
        self.setObjectName("applicant_screen")
        self.setWindowTitle("申请人屏幕")
        self.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
        self.setStyleSheet(f"#applicant_screen, #applicant_screen QLabel, #applicant_screen QPushButton,"
                           f" #applicant_screen QCheckBox {{font-size:{settings.screen.font_px}px}}")
        self.settings = settings
        self.view: ApplicantView | None = None
        layout = QVBoxLayout(self)
        self.pages = QStackedWidget()
        layout.addWidget(self.pages)
        self.idle = self._idle_page(window_name)
        self.case_page, self.case_text, self.confirm_button = self._case_page()
        self.keypad = Keypad()
        self.pin_message = named(QLabel(), "applicant_pin_message")
        self.pin_message.setWordWrap(True)
        pin_page = QWidget()
        pin_layout = QVBoxLayout(pin_page)
        pin_layout.addWidget(self.keypad)
        pin_layout.addWidget(self.pin_message)
        cancel = touch_only(named(QPushButton("不改了，取消"), "pin_cancel"))
        cancel.clicked.connect(self.pin_cancelled)
        pin_layout.addWidget(cancel)
        self.pin_page = pin_page
        self.signature_page, self.signature_pad = self._signature_page()
        self.rating = RatingPanel(settings)
        for page in (self.idle, self.case_page, self.pin_page, self.signature_page, self.rating):
            self.pages.addWidget(page)
        self.show_idle()

    def _idle_page(self, window_name: str) -> QWidget:
        guide = load_guide()
        page = QWidget()
        layout = QVBoxLayout(page)
        title = named(QLabel(f"<h1>{escape(window_name)}</h1>"), "idle_window_name")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(title)
        text = "".join(f"<h3>{escape(h)}</h3><p>{escape(t)}</p>" for h, t in guide.sections[:4])
        body = named(QLabel(f"<h2>{escape(guide.title)}</h2>{text}"), "idle_guide")
        body.setWordWrap(True)
        layout.addWidget(body, 1)
        return page

    def _case_page(self) -> tuple[QWidget, QLabel, QPushButton]:
        page = QWidget()
        layout = QVBoxLayout(page)
        text = named(QLabel(), "applicant_case")
        text.setWordWrap(True)
        layout.addWidget(text, 1)
        button = touch_only(named(QPushButton("信息无误，确认"), "applicant_confirm"))
        button.clicked.connect(self.confirmed)
        layout.addWidget(button)
        return page, text, button

    def _signature_page(self) -> tuple[QWidget, SignaturePad]:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.addWidget(QLabel("请在下面的框内签名"))
        pad = named(SignaturePad(), "signature_pad")
        layout.addWidget(pad, 1)
        row = QHBoxLayout()
        again = touch_only(named(QPushButton("重签"), "signature_clear"))
        done = touch_only(named(QPushButton("签好了"), "signature_done"))
        again.clicked.connect(pad.clear)
        done.clicked.connect(lambda: None if pad.is_blank() else self.signed.emit())
        row.addWidget(again)
        row.addWidget(done)
        layout.addLayout(row)
        return page, pad

    # -- what is shown -------------------------------------------------------------

    def show_idle(self) -> None:
        self.view = None
        self.case_text.setText("")
        self.pages.setCurrentWidget(self.idle)

    def show_case(self, view: ApplicantView, *, confirm: bool) -> None:
        self.view = view
        rows = "".join(f"<tr><td>{escape(k)}：</td><td><b>{escape(v)}</b></td></tr>" for k, v in view.lines())
        self.case_text.setText(f"<table cellpadding='6'>{rows}</table>")
        self.confirm_button.setVisible(confirm)
        self.pages.setCurrentWidget(self.case_page)

    def ask_pin(self, prompt: str, length: int) -> None:
        self.keypad.ask(prompt, length)
        self.pages.setCurrentWidget(self.pin_page)

    def ask_signature(self) -> None:
        self.signature_pad.clear()
        self.pages.setCurrentWidget(self.signature_page)

    def ask_rating(self) -> None:
        self.rating.reset()
        self.pages.setCurrentWidget(self.rating)

    def shown_text(self) -> str:
        """Every text the applicant can see now (tests check nothing unmasked is among it)."""
        page = self.pages.currentWidget()
        if page is None:
            return ""
        return "\n".join(w.text() for w in page.findChildren(QLabel) + page.findChildren(QPushButton)
                         if w.isVisibleTo(self))

    def place(self, monitor: int) -> bool:
        """On monitor ``monitor`` (1-based) full-screen when there is one; a plain window otherwise."""
        screens = QGuiApplication.screens()
        if 1 <= monitor <= len(screens) and len(screens) > 1:
            self.setGeometry(screens[monitor - 1].geometry())
            self.show()
            self.windowHandle().setScreen(screens[monitor - 1])
            self.setGeometry(screens[monitor - 1].geometry())
            return True
        self.resize(800, 600)
        self.show()
        return False
