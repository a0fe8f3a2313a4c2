"""The intake form: the business and the mode on top, then its field groups (ui/intake_fields/).

It builds the request from the groups and keeps the draft, each group writing and reading its own
part. No database or device work here; the page drives it. Every field has an object name so
tests and drafts can address it.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from shebao_desk.clock import today as china_day
from shebao_desk.config.catalogue import Business, Mode
from shebao_desk.config.policy import Policy
from shebao_desk.errors import ValidationError
from shebao_desk.rules.idnumber import parse_id_number
from shebao_desk.services.intake import guardian_too_old, minor_needs_guardian
from shebao_desk.devices.card_data import CardInfo
from shebao_desk.devices.idcard import IdCardInfo
from shebao_desk.models import LossChannel
from shebao_desk.services.case_request import CaseRequest
from shebao_desk.services.intake_service import PersonOnFile
from shebao_desk.ui.intake_fields.agent import AgentFields
from shebao_desk.ui.intake_fields.applicant import ApplicantFields
from shebao_desk.ui.intake_fields.details import DetailFields
from shebao_desk.ui.intake_fields.draft import Draft, FieldGroup, choose_data
from shebao_desk.ui.intake_fields.materials import MaterialFields
from shebao_desk.ui.intake_fields.photo import PhotoField
from shebao_desk.ui.widgets import Hint, named


class IntakeForm(QWidget):
    changed = Signal()
    id_number_valid = Signal(str)

    def __init__(self, policy: Policy) -> None:
        super().__init__()
        self.policy = policy
        outer = QVBoxLayout(self)
        top = QHBoxLayout()
        self.business = named(QComboBox(), "business")
        for b in policy.catalogue.offered():  # businesses.toml offered = false: not done at this window
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
        self.where_hint = Hint("where_hint", collapse=True)
        outer.addWidget(self.where_hint)
        self.mode_hint = Hint("mode_hint", collapse=True)  # the minors' rule, as soon as the ID number tells the age
        outer.addWidget(self.mode_hint)
        self.business_hint = Hint("business_hint", collapse=True)  # a business suggested by the card or a waiting case
        outer.addWidget(self.business_hint)
        self.business_touched = False  # the clerk chose the business: suggestions leave it alone
        self._choosing_for_clerk = True  # the form itself sets the business (start, 清空, a suggestion)

        self.photo = PhotoField()
        self.applicant = ApplicantFields(policy.regions, beside=self.photo)
        self.agent = AgentFields(policy.regions)
        self.details = DetailFields(policy.site.bank_outlets)
        self.materials = MaterialFields(policy.catalogue)
        for box in (self.applicant, self.agent, self.details, self.materials):  # the photo: in the applicant's
            outer.addWidget(box)
        outer.addStretch(1)
        self.groups: tuple[FieldGroup, ...] = (self.applicant, self.agent, self.details, self.materials, self.photo)
        for changed in (self.applicant.changed, self.agent.changed, self.details.changed, self.materials.changed,
                        self.photo.changed):
            changed.connect(self.changed)

        self.applicant.id_number_valid.connect(self.id_number_valid)
        self.applicant.id_number.textChanged.connect(self._check_age)
        for field in (self.details.new_name, self.details.new_phone, self.details.new_address):
            field.textChanged.connect(self._materials_follow_changes)
        self.business.currentIndexChanged.connect(self._business_changed)
        self.mode.currentIndexChanged.connect(self._mode_changed)
        for field in (self.applicant.phone, self.agent.agent_phone, self.details.new_phone):
            field.textChanged.connect(self._check_phones)
        self._business_changed()
        self._choosing_for_clerk = False

    # -- reacting to the clerk --------------------------------------------------

    @property
    def business_code(self) -> str:
        return str(self.business.currentData())

    @property
    def mode_value(self) -> Mode:
        return Mode(self.mode.currentData())

    def chosen_business(self) -> Business:
        return self.policy.catalogue[self.business_code]

    def _business_changed(self) -> None:
        if not self._choosing_for_clerk:  # the clerk's choice (or a test's, which stands for it)
            self.business_touched = True
            self.business_hint.info("")
        business = self.chosen_business()
        current = self.mode.currentData()
        self.mode.blockSignals(True)
        self.mode.clear()
        for mode in business.modes:
            self.mode.addItem(mode.label, mode.value)
        self.mode.setCurrentIndex(max(self.mode.findData(current), 0))
        self.mode.blockSignals(False)
        self.details.show_business(business)
        self.applicant.mark_required(business.required_fields)
        if self.policy.site.done_at_bank(business.code):  # site.toml [where]
            self.where_hint.problem(self.tr("本地{0}在发卡银行网点办理（见设置中的网点）；"
                                            "如在本窗口受理，请确认本窗口有此权限。").format(business.name))
        else:
            self.where_hint.info("")
        self._mode_changed()

    def _mode_changed(self) -> None:
        mode = self.mode_value
        self.agent.show_mode(mode)
        self.materials.show_business(self.chosen_business(), mode, self.details.changes())
        self._check_age()
        self.changed.emit()

    def _materials_follow_changes(self) -> None:
        """信息变更: the papers follow the fields that change (a new phone needs no police proof)."""
        self.materials.show_business(self.chosen_business(), self.mode_value, self.details.changes())

    def _choose_for_clerk(self, code: str) -> None:
        self._choosing_for_clerk = True
        try:
            choose_data(self.business, code)
        finally:
            self._choosing_for_clerk = False

    def suggest_business(self, code: str, why: str) -> bool:
        """Choose ``code`` for the clerk (a card in the reader, a case waiting for materials), unless the
        clerk has chosen a business already; the line under the business says why."""
        if self.business_touched or self.business.findData(code) < 0:
            return False
        if code != self.business_code:
            self._choose_for_clerk(code)
        self.business_hint.info(why)
        return True

    def _check_age(self) -> None:
        """申领 and most businesses: a child under the guardian age comes with a guardian. Said as soon as
        the ID number is typed; gone once the mode fits."""
        age = self.applicant_age()
        business, mode = self.chosen_business(), self.mode_value
        minors = self.policy.catalogue.minors
        guardian_age, guardian_until = minors.guardian_age, minors.guardian_until  # 16–17: where the county allows
        if age is not None and age < guardian_age and mode is Mode.SELF and Mode.GUARDIAN in business.modes:
            self.mode_hint.problem(minor_needs_guardian(guardian_age))
        elif age is not None and age >= guardian_until and mode is Mode.GUARDIAN:
            self.mode_hint.problem(guardian_too_old(guardian_until))
        else:
            self.mode_hint.info("")

    def applicant_age(self) -> int | None:
        try:
            parsed = parse_id_number(self.applicant.id_number.text(), regions=self.policy.regions)
        except ValidationError:
            return None
        today = china_day()
        birth = parsed.birth_date
        return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))

    def first_empty_required(self) -> QWidget | None:
        return self.applicant.first_empty(self.chosen_business().required_fields)

    def _check_phones(self) -> None:
        """One line for every phone number on the form: the first that is wrong."""
        problem = next((p for p in (g.phone_problem() for g in (self.applicant, self.agent, self.details)) if p),
                       None)
        if problem:
            self.applicant.phone_hint.problem(problem)
        else:
            self.applicant.phone_hint.info("")

    def tick_all(self) -> None:
        self.materials.tick_all()

    # -- filling from elsewhere ------------------------------------------------

    def fill_from_card(self, info: CardInfo) -> None:
        self.applicant.fill_from_card(info)

    def fill_from_idcard(self, info: IdCardInfo) -> None:
        self.applicant.fill_from_idcard(info)

    def fill_from_person(self, person: PersonOnFile) -> None:
        self.applicant.fill_from_person(person)
        self.photo.note_on_file(person.id_number, person.has_photo)
        if person.large_print:
            self.large_print.setChecked(True)

    def set_photo(self, jpeg: bytes | None, warnings: list[str] | None = None) -> None:
        self.photo.set_photo(jpeg, warnings)

    def photo_missing(self) -> bool:
        """The photo is ticked as handed in, but none was imported and none is on file for this person."""
        return "photo" in self.materials.ticked() and not self.photo.covers(self.applicant.typed_id_number())

    # -- the request -----------------------------------------------------------

    def request(self) -> CaseRequest:
        mode, business, applicant, details = self.mode_value, self.chosen_business(), self.applicant, self.details
        return CaseRequest(
            business=self.business_code, mode=mode, applicant=applicant.applicant_input(self.photo.jpeg),
            materials=self.materials.ticked(), agent=self.agent.agent_input(mode), reason=details.reason.text(),
            loss_channel=LossChannel(details.loss_channel.currentData()),
            loss_functions=details.loss_functions_ticked(),
            loss_effective_at=details.loss_effective_at() if business.loss_time else None,
            changes=details.changes(), card_read=applicant.card_read, origins=applicant.field_origins(),
            chip=applicant.chip, register_card=applicant.registers_card(),
            outlet=details.outlet.currentData() or "", large_print=self.large_print.isChecked(),
            card_number=details.card_number.text() if business.hands_card else "",
            id_card_valid_to=applicant.id_card_valid_to(),
        )

    # -- drafts (format: ui/intake_fields/draft.py) -----------------------------

    def state(self) -> Draft:
        draft: Draft = {"business": self.business_code, "mode": self.mode.currentData(),
                        "large_print": self.large_print.isChecked()}
        for group in self.groups:
            group.save_draft(draft)
        return draft

    def restore(self, draft: Draft) -> None:
        choose_data(self.business, draft.get("business"))  # first: they decide the rows and the materials
        choose_data(self.mode, draft.get("mode"))
        self.business_touched = self.business.currentIndex() != 0
        self.large_print.setChecked(bool(draft.get("large_print")))
        for group in self.groups:
            group.restore_draft(draft)

    def is_blank(self) -> bool:
        return self.applicant.is_blank() and self.agent.is_blank() and self.details.is_blank()

    def clear(self) -> None:
        """The next applicant: every field, and the business and mode back to the first (申领, 本人办理)."""
        self._choosing_for_clerk = True
        try:
            self.business.setCurrentIndex(0)
        finally:
            self._choosing_for_clerk = False
        self.business_touched = False
        self.mode.setCurrentIndex(0)
        for group in self.groups:
            group.clear()
        self.large_print.setChecked(False)
        for hint in (self.mode_hint, self.business_hint):
            hint.info("")
