"""The intake page's readers row: the social security card (F5) and the resident ID card (F6) into the form.

What a card says fills the form only when it is the applicant being served; another person's card
is refused with the reason, and the form keeps what it had.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from shebao_desk.clock import today as china_day
from shebao_desk.config.catalogue import Mode
from shebao_desk.devices.card_data import CardInfo
from shebao_desk.devices.idcard import PHOTO_NOT_SHOWN, IdCardInfo, decode_photo, find_idcard_port, read_id_card
from shebao_desk.services.id_documents import idcard_refusal
from shebao_desk.ui.errors import clerk_message
from shebao_desk.ui.intake_form import IntakeForm
from shebao_desk.ui.ops import run_op
from shebao_desk.ui.widgets import Hint, named

if TYPE_CHECKING:  # the card service loads the devices only after the start dialog (ui/app.py)
    from shebao_desk.ui.card_service import CardService
    from shebao_desk.ui.context import AppContext


class CardReaders(QWidget):
    idcard_filled = Signal()  # the form took an ID card's data: the page moves the cursor on

    def __init__(self, ctx: AppContext, cards: CardService, form: IntakeForm) -> None:
        super().__init__()
        self.ctx, self.cards, self.form = ctx, cards, form
        self.id_photo: bytes | None = None  # for comparison with the applicant only; never stored as the card photo
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.reader = named(QComboBox(), "reader")
        self.read_button = named(QPushButton(self.tr("读卡 (F5)")), "read_button")
        self.idcard_button = named(QPushButton("读身份证 (F6)"), "idcard_button")
        row.addWidget(QLabel(self.tr("读卡器")))
        row.addWidget(self.reader, 1)
        row.addWidget(self.read_button)
        row.addWidget(self.idcard_button)
        layout.addLayout(row)
        self.card_status = Hint("card_status", collapse=True)
        layout.addWidget(self.card_status)

        self.read_button.clicked.connect(self.read_selected)
        self.idcard_button.clicked.connect(self.read_idcard)
        cards.readers_changed.connect(self.show_readers)
        cards.card_read.connect(self.on_card_read)
        cards.card_failed.connect(self.on_card_failed)
        cards.card_inserted.connect(lambda r: self.card_status.info(f"{r}：检测到卡，正在读取…"))
        cards.card_removed.connect(lambda r: self.card_status.info(f"{r}：卡已取出"))
        self.show_readers(sorted(cards.readers.items()))

    # -- the social security card ------------------------------------------------------

    def show_readers(self, readers: list[tuple[str, bool]]) -> None:
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
        reader = self.reader.currentData()
        return str(reader) if reader else None

    def holds_card(self, reader: str | None) -> bool:
        return bool(reader) and bool(self.cards.readers.get(reader or ""))

    def read_selected(self) -> None:
        reader = self.selected_reader()
        self.card_status.info(f"正在读卡：{reader or '第一个读卡器'}…")
        self.cards.read(reader)

    def on_card_read(self, reader: str, info: CardInfo) -> None:
        typed = self.form.applicant.typed_id_number()
        if typed and info.ssn and typed != info.ssn:
            self.card_status.problem(f"{reader} 中的卡属于另一人（{info.name}），与正在填写的申请人不同；如要换人请先清空 (Ctrl+N)")
            return
        index = self.reader.findData(reader)
        if index >= 0:
            self.reader.setCurrentIndex(index)
        self.form.fill_from_card(info)
        self.card_status.fine(f"已读卡：{info.name}，卡号 {info.card_number}（{reader}）")

    def on_card_failed(self, reader: str, error: BaseException) -> None:
        self.card_status.problem(f"{reader}：{clerk_message(error)}" if reader else clerk_message(error))

    # -- the resident ID card (GA 467 reader) ------------------------------------------

    def read_idcard(self) -> None:
        port = self.ctx.idcard_port or find_idcard_port()
        if not port:
            self.card_status.problem("没有找到身份证阅读器：请连接阅读器，或在设置中填写它的串口")
            return
        self.card_status.info(f"正在读身份证（{port}）…")
        decoder = os.environ.get("SHEBAO_WLT_DECODER", "")  # a vendor's licensed WLT decoder, if installed

        def work() -> tuple[IdCardInfo, bytes | None]:
            info = read_id_card(port)
            return info, decode_photo(info.photo_wlt, decoder)

        run_op(self, self.ctx, work, lambda result: self.on_idcard_read(*result), hint=self.card_status,
               worker=self.ctx.devices)

    def _agents_card(self, info: IdCardInfo, current: str) -> bool:
        """In 他人代办 / 监护人代办 a second ID card is the agent's or guardian's. With no applicant yet,
        an adult's card in 监护人代办 is the guardian's (the child often has no ID card)."""
        mode = self.form.mode_value
        if mode is Mode.SELF:
            return False
        if current:
            return current != info.id_number
        today = china_day()
        born = info.birth_date
        age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
        return mode is Mode.GUARDIAN and age >= self.ctx.policy.catalogue.minors.guardian_until

    def on_idcard_read(self, info: IdCardInfo, id_photo: bytes | None = None) -> None:
        refused = idcard_refusal(self.ctx.policy.catalogue, self.form.business_code, info.kind)
        if refused:  # e.g. a foreigner's permanent residence ID for 申领 (Art. 13): named, nothing filled
            self.card_status.problem(refused)
            return
        applicant = self.form.applicant
        current = applicant.typed_id_number()
        if self._agents_card(info, current):
            self.form.agent.fill_from_idcard(info)
            who = self.form.agent.title()
            problem = info.validity_problem(china_day())
            if problem:
                self.card_status.problem(f"已读{who}身份证：{info.name}。{problem}")
            else:
                self.card_status.fine(f"已读{who}身份证：{info.name}（已填入{who}信息）")
            self.idcard_filled.emit()
            return
        if current and current != info.id_number:
            source = "社会保障卡" if applicant.origins.get("id_number") == "ss_card" else "正在填写的"
            self.card_status.problem(
                f"身份证（{info.name}）与{source}申请人不是同一人，请核对；如要换人请先清空 (Ctrl+N)")
            return
        chip_name = applicant.name.text().strip() if applicant.origins.get("name") == "ss_card" else ""
        self.form.fill_from_idcard(info)
        problem = info.validity_problem(china_day())
        if chip_name and chip_name != info.name:
            problem = (f"身份证上的姓名“{info.name}”与社会保障卡芯片中的“{chip_name}”不一致，"
                       "请核对（可能需办理信息变更）")
        until = info.valid_to.isoformat() if info.valid_to else "长期"
        business = self.form.chosen_business()
        if info.expired(china_day()) and business.needs_valid_id:
            problem = (f"{problem}。{business.name}须有效身份证，不能受理；确需受理的，受理时由主管授权并登记原因"
                       if problem else problem)
        if problem:
            self.card_status.problem(f"已读身份证：{info.name}。{problem}")
        else:
            photo = "身份证照片已由厂商解码库解码，可与申请人本人核对。" if id_photo else PHOTO_NOT_SHOWN
            self.card_status.fine(f"已读身份证：{info.name}，有效期至 {until}。{photo}")
        self.id_photo = id_photo
        self.idcard_filled.emit()
