"""The fields of the intake form: building them, reading them into a request, drafts in and out.

No database or device work here; the page drives it. Every field has an object
name so tests and drafts can address it.
"""

from __future__ import annotations

import base64
import datetime as dt

from PySide6.QtCore import QDate, QDateTime, Qt, QTime, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDateTimeEdit, QFormLayout, QGridLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit,
    QPushButton, QVBoxLayout, QWidget,
)

from shebao_desk.clock import CHINA, now_utc
from shebao_desk.config.catalogue import Mode
from shebao_desk.config.document_layout import ethnicity_names
from shebao_desk.config.policy import Policy
from shebao_desk.models import LossChannel
from shebao_desk.models.limits import max_length
from shebao_desk.rules.idnumber import id_problem, parse_id_number
from shebao_desk.services.case_request import AgentInput, ApplicantInput, CaseRequest, ChipCard
from shebao_desk.services.card_effects import LOSS_FUNCTIONS
from shebao_desk.services.intake import phone_problem
from shebao_desk.ui.widgets import Hint, named

ORIGIN_LABELS = {"id_card": "身份证", "ss_card": "社会保障卡", "typed": "手工录入"}
ORIGIN_FIELDS = {"id_number": "身份证号码", "name": "姓名", "ethnicity": "民族", "address": "住址"}


class IntakeForm(QWidget):
    changed = Signal()
    id_number_valid = Signal(str)

    def __init__(self, policy: Policy) -> None:
        super().__init__()
        self.policy = policy
        self.photo: bytes | None = None
        self.card_read: tuple[str, str] | None = None
        self.chip: ChipCard | None = None  # the card last read, for registering a card unknown to the store
        self.origins: dict[str, str] = {}  # field -> id_card / ss_card; anything else the clerk typed
        self._filling = False
        self.material_boxes: dict[str, QCheckBox] = {}
        outer = QVBoxLayout(self)

        top = QHBoxLayout()
        self.business = named(QComboBox(), "business")
        for b in policy.catalogue:
            self.business.addItem(b.name, b.code)
        self.mode = named(QComboBox(), "mode")
        top.addWidget(QLabel(self.tr("业务类型")))
        top.addWidget(self.business, 1)
        top.addWidget(QLabel(self.tr("办理方式")))
        top.addWidget(self.mode, 1)
        # What the applicant reads (PIN dialog, receipt, notice) in large type; remembered for the person.
        self.large_print = named(QCheckBox(self.tr("大字版（老年人、视力不好）")), "large_print")
        top.addWidget(self.large_print)
        outer.addLayout(top)
        self.where_hint = Hint("where_hint")
        outer.addWidget(self.where_hint)

        person = QGroupBox(self.tr("申请人（持卡人）"))
        grid = QGridLayout(person)
        self.id_number = named(QLineEdit(maxLength=20, placeholderText=self.tr("18 位身份证号码，或插卡自动读取")), "id_number")
        self.id_hint = Hint("id_hint")
        self.name = named(QLineEdit(), "name")
        self.sex = named(QLabel(), "sex")
        self.ethnicity = named(QComboBox(), "ethnicity")
        for code, label in ethnicity_names().items():
            self.ethnicity.addItem(label, code)
        self.phone = named(QLineEdit(maxLength=20), "phone")
        self.address = named(QLineEdit(maxLength=200), "address")
        self.person_status = Hint("person_status")
        grid.addWidget(QLabel(self.tr("身份证号码")), 0, 0)
        grid.addWidget(self.id_number, 0, 1)
        grid.addWidget(self.id_hint, 1, 1)
        grid.addWidget(QLabel(self.tr("姓名")), 2, 0)
        grid.addWidget(self.name, 2, 1)
        grid.addWidget(QLabel(self.tr("性别")), 3, 0)
        grid.addWidget(self.sex, 3, 1)
        grid.addWidget(QLabel(self.tr("民族")), 4, 0)
        grid.addWidget(self.ethnicity, 4, 1)
        grid.addWidget(QLabel(self.tr("联系电话")), 5, 0)
        grid.addWidget(self.phone, 5, 1)
        grid.addWidget(QLabel(self.tr("联系地址")), 6, 0)
        grid.addWidget(self.address, 6, 1)
        grid.addWidget(self.person_status, 7, 0, 1, 2)
        self.register_card = named(QCheckBox(self.tr("核对身份证件后按卡片信息登记此卡")), "register_card")
        self.register_card.setToolTip("持卡人的卡不在本系统中（以前或在别处发的卡）：核对身份证件与卡片一致后勾选")
        self.register_card.setVisible(False)
        grid.addWidget(self.register_card, 8, 0, 1, 2)
        self.origin_hint = Hint("origin_hint")
        grid.addWidget(self.origin_hint, 9, 0, 1, 2)
        self.photo_view = named(QLabel(self.tr("无照片"), alignment=Qt.AlignmentFlag.AlignCenter), "photo_view")
        self.photo_view.setFixedSize(110, 135)
        self.photo_view.setStyleSheet("border:1px solid #999")
        self.photo_button = named(QPushButton(self.tr("导入照片…")), "photo_button")
        self.photo_hint = Hint("photo_hint")
        grid.addWidget(self.photo_view, 0, 2, 5, 1)
        grid.addWidget(self.photo_button, 5, 2)
        grid.addWidget(self.photo_hint, 6, 2, 2, 1)
        outer.addWidget(person)

        self.agent_box = QGroupBox(self.tr("代办人 / 监护人"))
        form = QFormLayout(self.agent_box)
        self.agent_name = named(QLineEdit(), "agent_name")
        self.agent_id = named(QLineEdit(maxLength=20), "agent_id")
        self.agent_hint = Hint("agent_hint")
        self.agent_relation = named(QLineEdit(placeholderText=self.tr("如：子女、配偶、父母")), "agent_relation")
        self.agent_phone = named(QLineEdit(maxLength=20), "agent_phone")
        form.addRow(self.tr("姓名"), self.agent_name)
        form.addRow(self.tr("身份证号码"), self.agent_id)
        form.addRow("", self.agent_hint)
        form.addRow(self.tr("与申请人关系"), self.agent_relation)
        form.addRow(self.tr("联系电话"), self.agent_phone)
        outer.addWidget(self.agent_box)

        self.detail_box = QGroupBox(self.tr("业务信息"))
        form = QFormLayout(self.detail_box)
        self.reason = named(QLineEdit(), "reason")
        self.reason_choice = named(QComboBox(), "reason_choice")
        self.reason_choice.activated.connect(lambda i: self.reason.setText(self.reason_choice.itemData(i) or ""))
        reason_row = QHBoxLayout()
        reason_row.addWidget(self.reason_choice)
        reason_row.addWidget(self.reason, 1)
        self.reason_label = QLabel(self.tr("办理原因"))
        form.addRow(self.reason_label, reason_row)
        self.outlet = named(QComboBox(), "outlet")
        for outlet in policy.site.bank_outlets:
            self.outlet.addItem(f"{outlet.name}（{outlet.address}）", outlet.name)
        self.outlet_label = QLabel(self.tr("领卡银行网点"))
        form.addRow(self.outlet_label, self.outlet)
        self.loss_channel = named(QComboBox(), "loss_channel")
        for channel in LossChannel:
            self.loss_channel.addItem(channel.label, channel.value)
        self.loss_functions = {key: named(QCheckBox(label, checked=True), f"loss_{key}")  # type: ignore[call-overload]  # inherited property keyword, not in PySide6's stubs
                               for key, label in LOSS_FUNCTIONS.items()}
        functions = QHBoxLayout()
        for box in self.loss_functions.values():
            functions.addWidget(box)
        self.loss_effective = named(QDateTimeEdit(displayFormat="yyyy-MM-dd HH:mm",
                                            calendarPopup=True), "loss_effective")
        self.loss_rows = [QLabel(self.tr("挂失渠道")), QLabel(self.tr("挂失功能")), QLabel(self.tr("生效时间"))]
        form.addRow(self.loss_rows[0], self.loss_channel)
        form.addRow(self.loss_rows[1], functions)
        form.addRow(self.loss_rows[2], self.loss_effective)
        self.loss_widgets = [self.loss_channel, *self.loss_functions.values(), self.loss_effective]
        self.new_name = named(QLineEdit(placeholderText=self.tr("不变则留空")), "new_name")
        self.new_phone = named(QLineEdit(placeholderText=self.tr("不变则留空")), "new_phone")
        self.new_address = named(QLineEdit(placeholderText=self.tr("不变则留空")), "new_address")
        self.change_rows = [QLabel(self.tr("新姓名")), QLabel(self.tr("新电话")), QLabel(self.tr("新地址"))]
        for row_label, field in zip(self.change_rows, (self.new_name, self.new_phone, self.new_address), strict=True):
            form.addRow(row_label, field)
        self.change_widgets = [self.new_name, self.new_phone, self.new_address]
        outer.addWidget(self.detail_box)

        self.materials_box = QGroupBox(self.tr("已提交材料（勾选）"))
        self.materials_layout = QVBoxLayout(self.materials_box)
        outer.addWidget(self.materials_box)
        outer.addStretch(1)

        self.business.currentIndexChanged.connect(self._business_changed)
        self.mode.currentIndexChanged.connect(self._mode_changed)
        self.id_number.textChanged.connect(self._check_id)
        self.agent_id.textChanged.connect(self._check_agent_id)
        self.phone_hint = Hint("phone_hint")
        grid.addWidget(self.phone_hint, 10, 0, 1, 2)
        for field in (self.phone, self.agent_phone, self.new_phone):
            field.textChanged.connect(self._check_phone)
        for widget, table, column in ((self.name, "person", "name"), (self.phone, "person", "phone"),
                                      (self.address, "person", "address"), (self.agent_name, "case", "agent_name"),
                                      (self.agent_relation, "case", "agent_relation"),
                                      (self.agent_phone, "case", "agent_phone"), (self.reason, "case", "reason"),
                                      (self.new_name, "person", "name"), (self.new_phone, "person", "phone"),
                                      (self.new_address, "person", "address")):
            widget.setMaxLength(max_length(table, column))
        for widget in self.findChildren(QLineEdit):
            widget.textChanged.connect(self.changed)
        for combo in (self.ethnicity, self.loss_channel):
            combo.currentIndexChanged.connect(self.changed)
        for box in self.loss_functions.values():
            box.toggled.connect(self.changed)
        for name in ORIGIN_FIELDS:
            widget = getattr(self, name)
            signal = widget.currentIndexChanged if isinstance(widget, QComboBox) else widget.textChanged
            signal.connect(lambda *_, n=name: self._typed(n))
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
        loss = business.loss_time
        for w in [*self.loss_widgets, *self.loss_rows]:
            w.setVisible(loss)
        # China time from the UTC clock, whatever zone the PC is set to (a PC on UTC was 8 h off).
        china = now_utc().astimezone(CHINA)
        self.loss_effective.setDateTime(QDateTime(QDate(china.year, china.month, china.day),
                                                  QTime(china.hour, china.minute)))
        info = business.changes_info
        for w in [*self.change_widgets, *self.change_rows]:
            w.setVisible(info)
        reason = business.asks_reason
        self.reason.setVisible(reason)
        self.reason_label.setVisible(reason)
        self.reason_choice.clear()
        self.reason_choice.addItem(self.tr("常用原因…"), "")
        for r in business.reasons:
            fee = f"（{business.fee_text(r.fee)}）" if business.fee or r.fee else ""
            self.reason_choice.addItem(r.text + fee, r.text)
        self.reason_choice.setVisible(reason and bool(business.reasons))
        self.outlet.setVisible(business.pickup)
        self.outlet_label.setVisible(business.pickup)
        self.detail_box.setVisible(loss or info or reason or business.pickup)
        if self.policy.site.done_at_bank(code):  # site.toml [where]
            self.where_hint.problem(self.tr("本地{0}在发卡银行网点办理（见设置中的网点）；"
                                            "如在本窗口受理，请确认本窗口有此权限。").format(business.name))
        else:
            self.where_hint.info("")
        self._mode_changed()

    def _mode_changed(self) -> None:
        mode = self.mode_value
        self.agent_box.setVisible(mode is not Mode.SELF)
        self.agent_box.setTitle(self.tr("监护人") if mode is Mode.GUARDIAN else self.tr("代办人"))
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
            label = self.policy.catalogue.material_name(code) + (self.tr("（有则提交）") if code in business.optional else "")
            box = named(QCheckBox(label, checked=code in ticked), f"material_{code}")  # type: ignore[call-overload]  # inherited property keyword, not in PySide6's stubs
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
        problem = id_problem(text, regions=self.policy.regions)
        if problem:
            self.id_hint.problem(problem)
            self.sex.setText("")
            return
        parsed = parse_id_number(text, regions=self.policy.regions)
        self.id_hint.fine(f"号码有效：{parsed.region_name}，{parsed.birth_date:%Y年%m月%d日}出生")
        self.sex.setText(self.tr("男") if parsed.sex == "1" else self.tr("女"))
        self.id_number_valid.emit(parsed.number)

    def _check_phone(self, _text: str = "") -> None:
        problem = next((p for p in (phone_problem(f.text()) for f in (self.phone, self.agent_phone, self.new_phone)) if p),
                       None)
        if problem:
            self.phone_hint.problem(problem)
        else:
            self.phone_hint.info("")

    def _check_agent_id(self, text: str) -> None:
        problem = id_problem(text, regions=self.policy.regions) if text.strip() else None
        if problem:
            self.agent_hint.problem(problem)
        else:
            self.agent_hint.info("")

    # -- filling from elsewhere ------------------------------------------------

    def _typed(self, name: str) -> None:
        if not self._filling and name in self.origins:
            del self.origins[name]  # the clerk changed what a card gave: it is typed now
            self.show_origins()

    def field_origins(self) -> dict[str, str]:
        """Origin of every applicant field that has a value."""
        filled = {name for name in ORIGIN_FIELDS if name == "ethnicity" or getattr(self, name).text().strip()}
        return {name: self.origins.get(name, "typed") for name in ORIGIN_FIELDS if name in filled}

    def show_origins(self) -> None:
        by_origin: dict[str, list[str]] = {}
        for name, origin in self.field_origins().items():
            by_origin.setdefault(origin, []).append(ORIGIN_FIELDS[name])
            getattr(self, name).setToolTip(f"来源：{ORIGIN_LABELS[origin]}")
        parts = [f"{'、'.join(names)}：{ORIGIN_LABELS[o]}" for o, names in by_origin.items() if o != "typed"]
        self.origin_hint.info(f"信息来源　{'；'.join(parts)}；其余手工录入" if parts else "")

    def _fill(self, origin: str, values: dict[str, str]) -> None:
        self._filling = True
        try:
            for name, value in values.items():
                if not value:
                    continue
                widget = getattr(self, name)
                if isinstance(widget, QComboBox):
                    index = widget.findData(value)
                    if index < 0:
                        continue
                    widget.setCurrentIndex(index)
                else:
                    widget.setText(value)
                self.origins[name] = origin
        finally:
            self._filling = False
        self.show_origins()

    def fill_from_card(self, info) -> None:
        self.card_read = (info.card_number, info.card_id)
        self.chip = ChipCard(info.card_number, info.card_id, info.generation,
                             dt.date.fromisoformat(info.issue_date) if info.issue_date else None,
                             dt.date.fromisoformat(info.expiry_date) if info.expiry_date else None)
        self.register_card.setChecked(False)
        self.register_card.setVisible(True)
        self._fill("ss_card", {"id_number": info.ssn, "name": info.name, "ethnicity": info.ethnicity})

    def fill_from_idcard(self, info) -> None:
        """From the resident ID card (GA 467 reader): the card's own text wins over what was there."""
        self._fill("id_card", {"id_number": info.id_number, "name": info.name, "ethnicity": info.ethnicity,
                               "address": info.address})

    def fill_from_person(self, person) -> None:
        for field, value in ((self.name, person.name), (self.phone, person.phone), (self.address, person.address)):
            if not field.text().strip() and value:
                field.setText(value)
        index = self.ethnicity.findData(person.ethnicity)
        if index >= 0 and self.ethnicity.currentIndex() == 0:
            self.ethnicity.setCurrentIndex(index)
        if getattr(person, "large_print", False):
            self.large_print.setChecked(True)

    def set_photo(self, jpeg: bytes | None, warnings: list[str] | None = None) -> None:
        self.photo = jpeg
        if jpeg:
            pixmap = QPixmap()
            pixmap.loadFromData(jpeg, "JPEG")
            self.photo_view.setPixmap(pixmap.scaled(self.photo_view.size(), Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation))
        else:
            self.photo_view.setPixmap(QPixmap())
            self.photo_view.setText(self.tr("无照片"))
        if warnings:
            self.photo_hint.problem("；".join(warnings))
        else:
            self.photo_hint.fine(self.tr("照片符合标准") if jpeg else "")
        self.changed.emit()

    # -- the request -----------------------------------------------------------

    def request(self) -> CaseRequest:
        mode = self.mode_value
        agent = None
        if mode is not Mode.SELF:
            agent = AgentInput(self.agent_name.text(), self.agent_id.text(), self.agent_relation.text(),
                               self.agent_phone.text())
        effective = self.loss_effective.dateTime().toPython().replace(tzinfo=CHINA).astimezone(dt.UTC)  # type: ignore[attr-defined]  # toPython() of a QDateTime is a datetime; the stubs say object
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
            loss_effective_at=effective if self.policy.catalogue[self.business_code].loss_time else None,
            changes=changes, card_read=self.card_read, origins=self.field_origins(),
            chip=self.chip, register_card=self.chip is not None and self.register_card.isChecked(),
            outlet=self.outlet.currentData() or "", large_print=self.large_print.isChecked(),
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
            "outlet": self.outlet.currentData(), "large_print": self.large_print.isChecked(),
            "photo": base64.b64encode(self.photo).decode() if self.photo else None,
            "origins": dict(self.origins),
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
        index = self.outlet.findData(state.get("outlet"))
        if index >= 0:
            self.outlet.setCurrentIndex(index)
        self.large_print.setChecked(bool(state.get("large_print")))
        for name, value in (state.get("text") or {}).items():
            if name in self.TEXT_FIELDS and isinstance(value, str):
                getattr(self, name).setText(value)
        for code in state.get("materials") or []:
            if code in self.material_boxes:
                self.material_boxes[code].setChecked(True)
        origins = state.get("origins")
        if isinstance(origins, dict):
            self.origins = {k: v for k, v in origins.items() if k in ORIGIN_FIELDS and v in ORIGIN_LABELS}
            self.show_origins()
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
        self.chip = None
        self.register_card.setChecked(False)
        self.register_card.setVisible(False)
        self.origins = {}
        self.origin_hint.info("")
        self.set_photo(None)
        self.person_status.info("")
        self.ethnicity.setCurrentIndex(0)
        self.outlet.setCurrentIndex(0)
        self.large_print.setChecked(False)
