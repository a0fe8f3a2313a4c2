"""申请人（持卡人）: who the applicant is, where each value came from, and the card in the reader."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QGridLayout, QGroupBox, QLabel, QLineEdit, QWidget

from shebao_desk.config.document_layout import ethnicity_names
from shebao_desk.devices.card_data import CardInfo
from shebao_desk.devices.idcard import IdCardInfo
from shebao_desk.models.limits import max_length, text_problem
from shebao_desk.rules.idnumber import Regions, id_problem, parse_id_number
from shebao_desk.services.case_request import ORIGIN_FIELDS, ORIGIN_LABELS, ApplicantInput, ChipCard
from shebao_desk.services.intake import phone_problem
from shebao_desk.services.intake_service import PersonOnFile
from shebao_desk.ui.intake_fields.draft import Draft, any_text, choose_data, put_texts, take_texts
from shebao_desk.ui.widgets import Hint, named


class ApplicantFields(QGroupBox):
    """The applicant's fields, checked as typed. Each value remembers its origin (the resident ID
    card, the social security card's chip, or typed) until the clerk types over it."""

    changed = Signal()
    id_number_valid = Signal(str)  # the number as parsed, once it is a valid one

    def __init__(self, regions: Regions, beside: QWidget) -> None:
        super().__init__()
        self.setTitle(self.tr("申请人（持卡人）"))
        self.regions = regions
        self.card_read: tuple[str, str] | None = None  # (card number, chip id) of the card last read
        self.chip: ChipCard | None = None  # the card last read, for registering a card unknown to the store
        self.origins: dict[str, str] = {}  # field -> id_card / ss_card; anything else the clerk typed
        self.id_card: tuple[str, dt.date | None] | None = None  # (ID number, valid to) of the ID card last read
        self._filling = False
        grid = QGridLayout(self)
        self.id_number = named(QLineEdit(maxLength=20, placeholderText=self.tr("18 位身份证号码，或插卡自动读取")),
                               "id_number")
        self.id_hint = Hint("id_hint", collapse=True)
        # No maxLength on names and addresses: a value too long is refused with its limit, never cut silently.
        self.name = named(QLineEdit(), "name")
        self.sex = named(QLabel(), "sex")
        self.ethnicity = named(QComboBox(), "ethnicity")
        for code, label in ethnicity_names().items():
            self.ethnicity.addItem(label, code)
        self.phone = named(QLineEdit(maxLength=max_length("person", "phone")), "phone")
        self.address = named(QLineEdit(), "address")
        rows: list[tuple[str, QWidget]] = [
            (self.tr("身份证号码"), self.id_number), ("", self.id_hint), (self.tr("姓名"), self.name),
            (self.tr("性别"), self.sex), (self.tr("民族"), self.ethnicity), (self.tr("联系电话"), self.phone),
            (self.tr("联系地址"), self.address)]
        self.labels: dict[str, QLabel] = {}
        for row, (label, widget) in enumerate(rows):
            if label:
                self.labels[widget.objectName()] = QLabel(label)
                grid.addWidget(self.labels[widget.objectName()], row, 0)
            grid.addWidget(widget, row, 1)
        self.person_status = Hint("person_status", collapse=True)
        self.register_card = named(QCheckBox(self.tr("核对身份证件后按卡片信息登记此卡"), visible=False),  # type: ignore[call-overload]  # inherited property keyword, not in PySide6's stubs
                                   "register_card")
        self.register_card.setToolTip("持卡人的卡不在本系统中（以前或在别处发的卡）：核对身份证件与卡片一致后勾选")
        self.origin_hint = Hint("origin_hint", collapse=True)
        self.phone_hint = Hint("phone_hint", collapse=True)  # the form's one line for every phone number on it
        self.length_hint = Hint("length_hint", collapse=True)  # a name or address longer than the store takes
        for row, widget in enumerate((self.person_status, self.register_card, self.origin_hint, self.phone_hint,
                                      self.length_hint), 7):
            grid.addWidget(widget, row, 0, 1, 2)
        grid.addWidget(beside, 0, 2, 8, 1)
        self.texts = {"id_number": self.id_number, "name": self.name, "phone": self.phone, "address": self.address}

        self.id_number.textChanged.connect(self._check_id)
        for field in (self.name, self.address):
            field.textChanged.connect(self._check_lengths)
        for field in self.texts.values():
            field.textChanged.connect(self.changed)
        self.ethnicity.currentIndexChanged.connect(self.changed)
        for name in ORIGIN_FIELDS:
            widget = getattr(self, name)
            signal = widget.currentIndexChanged if isinstance(widget, QComboBox) else widget.textChanged
            signal.connect(lambda *_, n=name: self._typed(n))

    def typed_id_number(self) -> str:
        typed: str = self.id_number.text()
        return typed.strip().upper()

    def _check_id(self, text: str) -> None:
        if not text.strip():
            self.id_hint.info("")
            self.sex.setText("")
            return
        problem = id_problem(text, regions=self.regions)
        if problem:
            self.id_hint.problem(problem)
            self.sex.setText("")
            return
        parsed = parse_id_number(text, regions=self.regions)
        self.id_hint.fine(f"号码有效：{parsed.region_name}，{parsed.birth_date:%Y年%m月%d日}出生")
        self.sex.setText(self.tr("男") if parsed.sex == "1" else self.tr("女"))
        self.id_number_valid.emit(parsed.number)

    def phone_problem(self) -> str | None:
        return phone_problem(self.phone.text())

    def _check_lengths(self) -> None:
        problems = (text_problem(field.text().strip(), max_length("person", column))
                    for column, field in (("name", self.name), ("address", self.address)))
        label_problems = [f"{label}{p}" for label, p in zip(("姓名", "联系地址"), problems, strict=True) if p]
        if label_problems:
            self.length_hint.problem("；".join(label_problems))
        else:
            self.length_hint.info("")

    def mark_required(self, fields: tuple[str, ...]) -> None:
        """A star on the labels of what this business requires besides the ID number and name."""
        for name, label in (("phone", "联系电话"), ("address", "联系地址")):
            self.labels[name].setText(label + (" *" if name in fields else ""))

    def first_empty(self, required: tuple[str, ...]) -> QLineEdit | None:
        """The first field the clerk still has to fill, in the form's order."""
        fields = [self.id_number, self.name] + [getattr(self, f) for f in ("phone", "address") if f in required]
        return next((f for f in fields if not f.text().strip()), None)

    def id_card_valid_to(self) -> dt.date | None:
        """The validity of the ID card read for the applicant being typed (None: 长期, or none read)."""
        if self.id_card is None or self.id_card[0] != self.typed_id_number():
            return None
        return self.id_card[1]

    # -- where each value came from ----------------------------------------------------

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

    def _fill(self, origin: str, values: dict[str, str | None]) -> None:
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

    def fill_from_card(self, info: CardInfo) -> None:
        self.card_read = (info.card_number, info.card_id)
        self.chip = ChipCard(info.card_number, info.card_id, info.generation,
                             dt.date.fromisoformat(info.issue_date) if info.issue_date else None,
                             dt.date.fromisoformat(info.expiry_date) if info.expiry_date else None)
        self.register_card.setChecked(False)
        self.register_card.setVisible(True)
        self._fill("ss_card", {"id_number": info.ssn, "name": info.name, "ethnicity": info.ethnicity})

    def fill_from_idcard(self, info: IdCardInfo) -> None:
        """From the resident ID card (GA 467 reader): the card's own text wins over what was there."""
        self.id_card = (info.id_number, info.valid_to)
        self._fill("id_card", {"id_number": info.id_number, "name": info.name, "ethnicity": info.ethnicity,
                               "address": info.address})

    def fill_from_person(self, person: PersonOnFile) -> None:
        """What the store holds fills only what is still empty: the clerk's typing wins."""
        for field, value in ((self.name, person.name), (self.phone, person.phone), (self.address, person.address)):
            if not field.text().strip() and value:
                field.setText(value)
        index = self.ethnicity.findData(person.ethnicity)
        if index >= 0 and self.ethnicity.currentIndex() == 0:
            self.ethnicity.setCurrentIndex(index)

    def applicant_input(self, photo: bytes | None) -> ApplicantInput:
        return ApplicantInput(self.id_number.text(), self.name.text(), self.ethnicity.currentData() or "01",
                              self.phone.text(), self.address.text(), photo=photo)

    def registers_card(self) -> bool:
        return self.chip is not None and self.register_card.isChecked()

    # -- the draft -------------------------------------------------------------------

    def save_draft(self, draft: Draft) -> None:
        put_texts(draft, self.texts)
        draft["ethnicity"] = self.ethnicity.currentData()
        draft["origins"] = dict(self.origins)

    def restore_draft(self, draft: Draft) -> None:
        choose_data(self.ethnicity, draft.get("ethnicity"))
        take_texts(draft, self.texts)
        origins = draft.get("origins")
        if isinstance(origins, dict):
            self.origins = {k: v for k, v in origins.items() if k in ORIGIN_FIELDS and v in ORIGIN_LABELS}
            self.show_origins()

    def is_blank(self) -> bool:
        return not any_text(self.texts)

    def clear(self) -> None:
        for field in self.texts.values():
            field.clear()
        self.card_read = None
        self.chip = None
        self.id_card = None
        self.register_card.setChecked(False)
        self.register_card.setVisible(False)
        self.origins = {}
        self.origin_hint.info("")
        self.person_status.info("")
        self.ethnicity.setCurrentIndex(0)
