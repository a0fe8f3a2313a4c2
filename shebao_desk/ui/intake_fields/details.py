"""业务信息: what only some businesses ask (reason, pick-up outlet, loss details, the new values of a change)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from PySide6.QtCore import QDate, QDateTime, QTime, Signal
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDateTimeEdit, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit, QWidget,
)

from shebao_desk.clock import CHINA, now_utc
from shebao_desk.config.catalogue import Business
from shebao_desk.config.site_config import BankOutlet
from shebao_desk.models import LossChannel
from shebao_desk.models.limits import max_length
from shebao_desk.services.card_effects import LOSS_FUNCTIONS
from shebao_desk.services.intake import phone_problem
from shebao_desk.ui.intake_fields.draft import Draft, any_text, choose_data, put_texts, take_texts
from shebao_desk.ui.widgets import named


class DetailFields(QGroupBox):
    """Shows the rows the chosen business asks for (businesses.toml) and hides itself when none."""

    changed = Signal()

    def __init__(self, outlets: Sequence[BankOutlet]) -> None:
        super().__init__()
        self.setTitle(self.tr("业务信息"))
        form = QFormLayout(self)
        self.reason = named(QLineEdit(maxLength=max_length("case", "reason")), "reason")
        self.reason_choice = named(QComboBox(), "reason_choice")
        self.reason_choice.activated.connect(lambda i: self.reason.setText(self.reason_choice.itemData(i) or ""))
        self.reason_choice.currentIndexChanged.connect(self._reason_picked)
        self.business: Business | None = None
        reason_row = QHBoxLayout()
        reason_row.addWidget(self.reason_choice)
        reason_row.addWidget(self.reason, 1)
        self.reason_label = QLabel(self.tr("办理原因"))
        form.addRow(self.reason_label, reason_row)
        self.outlet = named(QComboBox(), "outlet")
        for outlet in outlets:
            self.outlet.addItem(f"{outlet.name}（{outlet.address}）", outlet.name)
        self.outlet_label = QLabel(self.tr("领卡银行网点"))
        form.addRow(self.outlet_label, self.outlet)
        # The card handed over now (businesses.toml hands_card): an instant card's number, a temporary card's.
        self.card_number = QLineEdit(maxLength=20, placeholderText=self.tr("照卡面填写；即时制卡也可插入新卡读取"))
        self.card_number.setObjectName("card_number")
        self.card_number_label = QLabel(self.tr("交付的卡号"))
        form.addRow(self.card_number_label, self.card_number)
        # The fee and who collects it, before acceptance (补卡, 换卡): the applicant hears it at the window.
        self.fee_label = QLabel(self.tr("收费"))
        self.fee_line = named(QLabel(), "fee_line")
        form.addRow(self.fee_label, self.fee_line)
        self.reason.textChanged.connect(self._show_fee)
        self.loss_rows = self._loss_rows(form)
        # No maxLength on the new name and address: too long is refused with its limit, never cut.
        self.new_name = named(QLineEdit(placeholderText=self.tr("不变则留空")), "new_name")
        self.new_phone = named(QLineEdit(placeholderText=self.tr("不变则留空"), maxLength=max_length("person", "phone")),
                               "new_phone")
        self.new_address = named(QLineEdit(placeholderText=self.tr("不变则留空")), "new_address")
        self.change_rows: list[QWidget] = [QLabel(self.tr("新姓名")), QLabel(self.tr("新电话")), QLabel(self.tr("新地址"))]
        for row_label, field in zip(self.change_rows, (self.new_name, self.new_phone, self.new_address), strict=True):
            form.addRow(row_label, field)
        self.change_rows += [self.new_name, self.new_phone, self.new_address]
        self.texts = {"reason": self.reason, "new_name": self.new_name, "new_phone": self.new_phone,
                      "new_address": self.new_address}
        for field in self.findChildren(QLineEdit):  # the loss time's own editor too, as ever
            field.textChanged.connect(self.changed)
        self.loss_channel.currentIndexChanged.connect(self.changed)
        for box in self.loss_functions.values():
            box.toggled.connect(self.changed)

    def _loss_rows(self, form: QFormLayout) -> list[QWidget]:
        self.loss_channel = named(QComboBox(), "loss_channel")
        for channel in LossChannel:
            self.loss_channel.addItem(channel.label, channel.value)
        self.loss_functions = {key: named(QCheckBox(label, checked=True), f"loss_{key}")  # type: ignore[call-overload]  # inherited property keyword, not in PySide6's stubs
                               for key, label in LOSS_FUNCTIONS.items()}
        functions = QHBoxLayout()
        for box in self.loss_functions.values():
            functions.addWidget(box)
        self.loss_effective = named(QDateTimeEdit(displayFormat="yyyy-MM-dd HH:mm", calendarPopup=True),
                                    "loss_effective")
        labels = [QLabel(self.tr("挂失渠道")), QLabel(self.tr("挂失功能")), QLabel(self.tr("生效时间"))]
        form.addRow(labels[0], self.loss_channel)
        form.addRow(labels[1], functions)
        form.addRow(labels[2], self.loss_effective)
        return [*labels, self.loss_channel, *self.loss_functions.values(), self.loss_effective]

    def show_business(self, business: Business) -> None:
        for w in self.loss_rows:
            w.setVisible(business.loss_time)
        # China time from the UTC clock, whatever zone the PC is set to (a PC on UTC was 8 h off).
        china = now_utc().astimezone(CHINA)
        self.loss_effective.setDateTime(QDateTime(QDate(china.year, china.month, china.day),
                                                  QTime(china.hour, china.minute)))
        for w in self.change_rows:
            w.setVisible(business.changes_info)
        self.business = business
        # 注销: the reason is picked from the list (it must match the proof handed in), never typed.
        self.reason.setVisible(business.asks_reason and not business.reasons_only)
        self.reason_label.setVisible(business.asks_reason)
        self.reason_label.setText(self.tr("{0}原因 *").format(business.name) if business.reason_required
                                  else self.tr("办理原因"))
        self.reason_choice.blockSignals(True)
        self.reason_choice.clear()
        self.reason_choice.addItem(self.tr("请选择…") if business.reasons_only else self.tr("常用原因…"), "")
        for r in business.reasons:
            fee = f"（{business.fee_text(r.fee)}）" if business.fee or r.fee else ""
            self.reason_choice.addItem(r.text + fee, r.text)
        self.reason_choice.blockSignals(False)
        self.reason_choice.setVisible(business.asks_reason and bool(business.reasons))
        if business.reasons_only and self.reason.text() not in {r.text for r in business.reasons}:
            self.reason.clear()
        charged = business.fee > 0 or any(r.fee for r in business.reasons)
        self.fee_label.setVisible(charged)
        self.fee_line.setVisible(charged)
        self._show_fee()
        self.outlet.setVisible(business.pickup)
        self.outlet_label.setVisible(business.pickup)
        self.card_number.setVisible(business.hands_card)
        self.card_number_label.setVisible(business.hands_card)
        self.card_number_label.setText(self.tr("新卡卡号") if business.instant else self.tr("临时卡卡号"))
        self.setVisible(business.loss_time or business.changes_info or business.asks_reason or business.pickup
                        or business.hands_card)

    def _reason_picked(self, index: int) -> None:
        if self.business is not None and self.business.reasons_only:
            self.reason.setText(self.reason_choice.itemData(index) or "")

    def _show_fee(self) -> None:
        if self.business is not None:
            self.fee_line.setText(self.business.fee_text(self.business.fee_for(self.reason.text())))

    def phone_problem(self) -> str | None:
        return phone_problem(self.new_phone.text())

    # -- what the request takes from here -------------------------------------------------

    def loss_effective_at(self) -> dt.datetime:
        # naive, as the clerk reads it: China time
        shown: dt.datetime = self.loss_effective.dateTime().toPython()  # type: ignore[assignment]  # toPython() of a QDateTime is a datetime; the stubs say object
        return shown.replace(tzinfo=CHINA).astimezone(dt.UTC)

    def loss_functions_ticked(self) -> tuple[str, ...]:
        return tuple(key for key, box in self.loss_functions.items() if box.isChecked())

    def changes(self) -> dict[str, str]:
        return {key: field.text() for key, field in (("name", self.new_name), ("phone", self.new_phone),
                                                     ("address", self.new_address)) if field.text().strip()}

    # -- the draft -------------------------------------------------------------------

    def save_draft(self, draft: Draft) -> None:
        put_texts(draft, self.texts)
        draft["outlet"] = self.outlet.currentData()
        if self.card_number.text():  # only then: a draft of an earlier version reads back the same
            draft["card_number"] = self.card_number.text()

    def restore_draft(self, draft: Draft) -> None:
        choose_data(self.outlet, draft.get("outlet"))
        take_texts(draft, self.texts)
        number = draft.get("card_number")
        self.card_number.setText(number if isinstance(number, str) else "")
        if self.business is not None and self.business.reasons_only:
            choose_data(self.reason_choice, self.reason.text())

    def is_blank(self) -> bool:
        return not any_text(self.texts) and not self.card_number.text().strip()

    def clear(self) -> None:
        for field in (*self.texts.values(), self.card_number):
            field.clear()
        self.outlet.setCurrentIndex(0)
        self.reason_choice.setCurrentIndex(0)
