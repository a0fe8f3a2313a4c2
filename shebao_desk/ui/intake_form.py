"""The fields of the intake form: building them, reading them into a request, drafts in and out.

No database or device work here; the page drives it. Every field has an object
name so tests and drafts can address it.
"""

from __future__ import annotations

import base64
import datetime as dt

from PySide6.QtCore import QDateTime, Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDateTimeEdit, QFormLayout, QGridLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit,
    QPushButton, QVBoxLayout, QWidget,
)

from shebao_desk.catalogue import Mode
from shebao_desk.clock import CHINA
from shebao_desk.documents.layout import ethnicity_names
from shebao_desk.idnumber import id_problem, parse_id_number
from shebao_desk.intake import LOSS_FUNCTIONS, AgentInput, ApplicantInput, CaseRequest
from shebao_desk.models import LossChannel
from shebao_desk.policy import Policy
from shebao_desk.ui.widgets import Hint

REASON_BUSINESSES = {"apply", "replace", "cancel", "formal_loss", "reissue", "pin_reset", "info_change"}


class IntakeForm(QWidget):
    changed = Signal()
    id_number_valid = Signal(str)

    def __init__(self, policy: Policy) -> None:
        super().__init__()
        self.policy = policy
        self.photo: bytes | None = None
        self.card_read: tuple[str, str] | None = None
        self.material_boxes: dict[str, QCheckBox] = {}
        outer = QVBoxLayout(self)

        top = QHBoxLayout()
        self.business = QComboBox(objectName="business")
        for b in policy.catalogue:
            self.business.addItem(b.name, b.code)
        self.mode = QComboBox(objectName="mode")
        top.addWidget(QLabel("业务类型"))
        top.addWidget(self.business, 1)
        top.addWidget(QLabel("办理方式"))
        top.addWidget(self.mode, 1)
        outer.addLayout(top)

        person = QGroupBox("申请人（持卡人）")
        grid = QGridLayout(person)
        self.id_number = QLineEdit(objectName="id_number", maxLength=20, placeholderText="18 位身份证号码，或插卡自动读取")
        self.id_hint = Hint("id_hint")
        self.name = QLineEdit(objectName="name")
        self.sex = QLabel(objectName="sex")
        self.ethnicity = QComboBox(objectName="ethnicity")
        for code, label in ethnicity_names().items():
            self.ethnicity.addItem(label, code)
        self.phone = QLineEdit(objectName="phone", maxLength=20)
        self.address = QLineEdit(objectName="address", maxLength=200)
        self.person_status = Hint("person_status")
        grid.addWidget(QLabel("身份证号码"), 0, 0)
        grid.addWidget(self.id_number, 0, 1)
        grid.addWidget(self.id_hint, 1, 1)
        grid.addWidget(QLabel("姓名"), 2, 0)
        grid.addWidget(self.name, 2, 1)
        grid.addWidget(QLabel("性别"), 3, 0)
        grid.addWidget(self.sex, 3, 1)
        grid.addWidget(QLabel("民族"), 4, 0)
        grid.addWidget(self.ethnicity, 4, 1)
        grid.addWidget(QLabel("联系电话"), 5, 0)
        grid.addWidget(self.phone, 5, 1)
        grid.addWidget(QLabel("联系地址"), 6, 0)
        grid.addWidget(self.address, 6, 1)
        grid.addWidget(self.person_status, 7, 0, 1, 2)
        self.photo_view = QLabel("无照片", objectName="photo_view", alignment=Qt.AlignCenter)
        self.photo_view.setFixedSize(110, 135)
        self.photo_view.setStyleSheet("border:1px solid #999")
        self.photo_button = QPushButton("导入照片…", objectName="photo_button")
        self.photo_hint = Hint("photo_hint")
        grid.addWidget(self.photo_view, 0, 2, 5, 1)
        grid.addWidget(self.photo_button, 5, 2)
        grid.addWidget(self.photo_hint, 6, 2, 2, 1)
        outer.addWidget(person)

        self.agent_box = QGroupBox("代办人 / 监护人")
        form = QFormLayout(self.agent_box)
        self.agent_name = QLineEdit(objectName="agent_name")
        self.agent_id = QLineEdit(objectName="agent_id", maxLength=20)
        self.agent_hint = Hint("agent_hint")
        self.agent_relation = QLineEdit(objectName="agent_relation", placeholderText="如：子女、配偶、父母")
        self.agent_phone = QLineEdit(objectName="agent_phone", maxLength=20)
        form.addRow("姓名", self.agent_name)
        form.addRow("身份证号码", self.agent_id)
        form.addRow("", self.agent_hint)
        form.addRow("与申请人关系", self.agent_relation)
        form.addRow("联系电话", self.agent_phone)
        outer.addWidget(self.agent_box)

        self.detail_box = QGroupBox("业务信息")
        form = QFormLayout(self.detail_box)
        self.reason = QLineEdit(objectName="reason")
        self.reason_label = QLabel("办理原因")
        form.addRow(self.reason_label, self.reason)
        self.loss_channel = QComboBox(objectName="loss_channel")
        for channel in LossChannel:
            self.loss_channel.addItem(channel.label, channel.value)
        self.loss_functions = {key: QCheckBox(label, objectName=f"loss_{key}", checked=True)
                               for key, label in LOSS_FUNCTIONS.items()}
        functions = QHBoxLayout()
        for box in self.loss_functions.values():
            functions.addWidget(box)
        self.loss_effective = QDateTimeEdit(objectName="loss_effective", displayFormat="yyyy-MM-dd HH:mm",
                                            calendarPopup=True)
        self.loss_rows = [QLabel("挂失渠道"), QLabel("挂失功能"), QLabel("生效时间")]
        form.addRow(self.loss_rows[0], self.loss_channel)
        form.addRow(self.loss_rows[1], functions)
        form.addRow(self.loss_rows[2], self.loss_effective)
        self.loss_widgets = [self.loss_channel, *self.loss_functions.values(), self.loss_effective]
        self.new_name = QLineEdit(objectName="new_name", placeholderText="不变则留空")
        self.new_phone = QLineEdit(objectName="new_phone", placeholderText="不变则留空")
        self.new_address = QLineEdit(objectName="new_address", placeholderText="不变则留空")
        self.change_rows = [QLabel("新姓名"), QLabel("新电话"), QLabel("新地址")]
        for label, field in zip(self.change_rows, (self.new_name, self.new_phone, self.new_address), strict=True):
            form.addRow(label, field)
        self.change_widgets = [self.new_name, self.new_phone, self.new_address]
        outer.addWidget(self.detail_box)

        self.materials_box = QGroupBox("已提交材料（勾选）")
        self.materials_layout = QVBoxLayout(self.materials_box)
        outer.addWidget(self.materials_box)
        outer.addStretch(1)

        self.business.currentIndexChanged.connect(self._business_changed)
        self.mode.currentIndexChanged.connect(self._mode_changed)
        self.id_number.textChanged.connect(self._check_id)
        self.agent_id.textChanged.connect(self._check_agent_id)
        from shebao_desk.limits import max_length  # the central schema's lengths, one table for all
        for widget, table, column in ((self.name, "person", "name"), (self.phone, "person", "phone"),
                                      (self.address, "person", "address"), (self.agent_name, "case", "agent_name"),
                                      (self.agent_relation, "case", "agent_relation"),
                                      (self.agent_phone, "case", "agent_phone"), (self.reason, "case", "reason"),
                                      (self.new_name, "person", "name"), (self.new_phone, "person", "phone"),
                                      (self.new_address, "person", "address")):
            widget.setMaxLength(max_length(table, column))
        for widget in self.findChildren(QLineEdit):
            widget.textChanged.connect(self.changed)
        for widget in (self.ethnicity, self.loss_channel):
            widget.currentIndexChanged.connect(self.changed)
        for box in self.loss_functions.values():
            box.toggled.connect(self.changed)
        self._business_changed()

    # -- reacting to the clerk --------------------------------------------------

    @property
    def business_code(self) -> str:
        return self.business.currentData()

    @property
    def mode_value(self) -> Mode:
        return Mode(self.mode.currentData())

    def _business_changed(self) -> None:
        code = self.business_code
        business = self.policy.catalogue[code]
        current = self.mode.currentData()
        self.mode.blockSignals(True)
        self.mode.clear()
        for mode in business.modes:
            self.mode.addItem(mode.label, mode.value)
        index = self.mode.findData(current)
        self.mode.setCurrentIndex(max(index, 0))
        self.mode.blockSignals(False)
        loss = code == "temp_loss"
        for w in [*self.loss_widgets, *self.loss_rows]:
            w.setVisible(loss)
        self.loss_effective.setDateTime(QDateTime.currentDateTime())
        info = code == "info_change"
        for w in [*self.change_widgets, *self.change_rows]:
            w.setVisible(info)
        reason = code in REASON_BUSINESSES
        self.reason.setVisible(reason)
        self.reason_label.setVisible(reason)
        self.detail_box.setVisible(loss or info or reason)
        self._mode_changed()

    def _mode_changed(self) -> None:
        mode = self.mode_value
        self.agent_box.setVisible(mode is not Mode.SELF)
        self.agent_box.setTitle("监护人" if mode is Mode.GUARDIAN else "代办人")
        self._rebuild_materials()
        self.changed.emit()

    def _rebuild_materials(self) -> None:
        ticked = {code for code, box in self.material_boxes.items() if box.isChecked()}
        for box in self.material_boxes.values():
            self.materials_layout.removeWidget(box)
            box.deleteLater()
        self.material_boxes = {}
        business = self.policy.catalogue[self.business_code]
        for code in business.required(self.mode_value):
            label = self.policy.catalogue.material_name(code) + ("（有则提交）" if code in business.optional else "")
            box = QCheckBox(label, objectName=f"material_{code}", checked=code in ticked)
            box.toggled.connect(self.changed)
            self.materials_layout.addWidget(box)
            self.material_boxes[code] = box

    def tick_all(self) -> None:
        for box in self.material_boxes.values():
            box.setChecked(True)

    def _check_id(self, text: str) -> None:
        if not text.strip():
            self.id_hint.info("")
            self.sex.setText("")
            return
        problem = id_problem(text)
        if problem:
            self.id_hint.problem(problem)
            self.sex.setText("")
            return
        parsed = parse_id_number(text)
        self.id_hint.fine(f"号码有效：{parsed.region_name}，{parsed.birth_date:%Y年%m月%d日}出生")
        self.sex.setText("男" if parsed.sex == "1" else "女")
        self.id_number_valid.emit(parsed.number)

    def _check_agent_id(self, text: str) -> None:
        problem = id_problem(text) if text.strip() else None
        if problem:
            self.agent_hint.problem(problem)
        else:
            self.agent_hint.info("")

    # -- filling from elsewhere ------------------------------------------------

    def fill_from_card(self, info) -> None:
        self.card_read = (info.card_number, info.card_id)
        if info.ssn:
            self.id_number.setText(info.ssn)
        if info.name:
            self.name.setText(info.name)
        index = self.ethnicity.findData(info.ethnicity)
        if index >= 0:
            self.ethnicity.setCurrentIndex(index)

    def fill_from_person(self, person) -> None:
        for field, value in ((self.name, person.name), (self.phone, person.phone), (self.address, person.address)):
            if not field.text().strip() and value:
                field.setText(value)
        index = self.ethnicity.findData(person.ethnicity)
        if index >= 0 and self.ethnicity.currentIndex() == 0:
            self.ethnicity.setCurrentIndex(index)

    def set_photo(self, jpeg: bytes | None, warnings: list[str] | None = None) -> None:
        self.photo = jpeg
        if jpeg:
            pixmap = QPixmap()
            pixmap.loadFromData(jpeg, "JPEG")
            self.photo_view.setPixmap(pixmap.scaled(self.photo_view.size(), Qt.KeepAspectRatio, Qt.SmoothTransformation))
        else:
            self.photo_view.setPixmap(QPixmap())
            self.photo_view.setText("无照片")
        if warnings:
            self.photo_hint.problem("；".join(warnings))
        else:
            self.photo_hint.fine("照片符合标准" if jpeg else "")
        self.changed.emit()

    # -- the request -----------------------------------------------------------

    def request(self) -> CaseRequest:
        mode = self.mode_value
        agent = None
        if mode is not Mode.SELF:
            agent = AgentInput(self.agent_name.text(), self.agent_id.text(), self.agent_relation.text(),
                               self.agent_phone.text())
        effective = self.loss_effective.dateTime().toPython().replace(tzinfo=CHINA).astimezone(dt.UTC)
        changes = {key: field.text() for key, field in (("name", self.new_name), ("phone", self.new_phone),
                                                      ("address", self.new_address)) if field.text().strip()}
        return CaseRequest(
            business=self.business_code, mode=mode,
            applicant=ApplicantInput(self.id_number.text(), self.name.text(), self.ethnicity.currentData() or "01",
                                     self.phone.text(), self.address.text(), photo=self.photo),
            materials={code for code, box in self.material_boxes.items() if box.isChecked()},
            agent=agent, reason=self.reason.text(),
            loss_channel=LossChannel(self.loss_channel.currentData()),
            loss_functions=tuple(k for k, box in self.loss_functions.items() if box.isChecked()),
            loss_effective_at=effective if self.business_code == "temp_loss" else None,
            changes=changes, card_read=self.card_read,
        )

    # -- drafts ----------------------------------------------------------------

    TEXT_FIELDS = ("id_number", "name", "phone", "address", "agent_name", "agent_id", "agent_relation",
                   "agent_phone", "reason", "new_name", "new_phone", "new_address")

    def state(self) -> dict:
        return {
            "business": self.business_code, "mode": self.mode.currentData(),
            "ethnicity": self.ethnicity.currentData(),
            "text": {name: getattr(self, name).text() for name in self.TEXT_FIELDS},
            "materials": sorted(code for code, box in self.material_boxes.items() if box.isChecked()),
            "photo": base64.b64encode(self.photo).decode() if self.photo else None,
        }

    def is_blank(self) -> bool:
        return not any(getattr(self, name).text().strip() for name in self.TEXT_FIELDS)

    def restore(self, state: dict) -> None:
        index = self.business.findData(state.get("business"))
        if index >= 0:
            self.business.setCurrentIndex(index)
        index = self.mode.findData(state.get("mode"))
        if index >= 0:
            self.mode.setCurrentIndex(index)
        index = self.ethnicity.findData(state.get("ethnicity"))
        if index >= 0:
            self.ethnicity.setCurrentIndex(index)
        for name, value in (state.get("text") or {}).items():
            if name in self.TEXT_FIELDS and isinstance(value, str):
                getattr(self, name).setText(value)
        for code in state.get("materials") or []:
            if code in self.material_boxes:
                self.material_boxes[code].setChecked(True)
        if state.get("photo"):
            try:
                self.set_photo(base64.b64decode(state["photo"]))
            except ValueError:
                pass

    def clear(self) -> None:
        for name in self.TEXT_FIELDS:
            getattr(self, name).clear()
        for box in self.material_boxes.values():
            box.setChecked(False)
        self.card_read = None
        self.set_photo(None)
        self.person_status.info("")
        self.ethnicity.setCurrentIndex(0)
