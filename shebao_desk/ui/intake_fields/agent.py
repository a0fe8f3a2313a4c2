"""代办人 / 监护人: who acts for the applicant, shown only when someone does."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFormLayout, QGroupBox, QLineEdit

from shebao_desk.config.catalogue import Mode
from shebao_desk.devices.idcard import IdCardInfo
from shebao_desk.models.limits import max_length
from shebao_desk.rules.idnumber import Regions, id_problem
from shebao_desk.services.case_request import AgentInput
from shebao_desk.services.intake import phone_problem
from shebao_desk.ui.intake_fields.draft import Draft, any_text, put_texts, take_texts
from shebao_desk.ui.widgets import Hint, named


class AgentFields(QGroupBox):
    changed = Signal()

    def __init__(self, regions: Regions) -> None:
        super().__init__()
        self.setTitle(self.tr("代办人 / 监护人"))
        self.regions = regions
        form = QFormLayout(self)
        self.agent_name = named(QLineEdit(), "agent_name")  # too long: refused with its limit, never cut
        self.agent_id = named(QLineEdit(maxLength=20), "agent_id")
        self.agent_hint = Hint("agent_hint", collapse=True)
        self.agent_relation = named(QLineEdit(placeholderText=self.tr("如：子女、配偶、父母"),
                                              maxLength=max_length("case", "agent_relation")), "agent_relation")
        self.agent_phone = named(QLineEdit(maxLength=max_length("case", "agent_phone")), "agent_phone")
        form.addRow(self.tr("姓名"), self.agent_name)
        form.addRow(self.tr("身份证号码"), self.agent_id)
        form.addRow("", self.agent_hint)
        form.addRow(self.tr("与申请人关系"), self.agent_relation)
        form.addRow(self.tr("联系电话"), self.agent_phone)
        self.texts = {"agent_name": self.agent_name, "agent_id": self.agent_id,
                      "agent_relation": self.agent_relation, "agent_phone": self.agent_phone}
        self.agent_id.textChanged.connect(self._check_agent_id)
        for field in self.texts.values():
            field.textChanged.connect(self.changed)

    def show_mode(self, mode: Mode) -> None:
        self.setVisible(mode is not Mode.SELF)
        self.setTitle(self.tr("监护人") if mode is Mode.GUARDIAN else self.tr("代办人"))

    def _check_agent_id(self, text: str) -> None:
        problem = id_problem(text, regions=self.regions) if text.strip() else None
        if problem:
            self.agent_hint.problem(problem)
        else:
            self.agent_hint.info("")

    def fill_from_idcard(self, info: IdCardInfo) -> None:
        """The agent's or guardian's own ID card (F6 in 他人代办 / 监护人代办)."""
        self.agent_name.setText(info.name)
        self.agent_id.setText(info.id_number)

    def phone_problem(self) -> str | None:
        return phone_problem(self.agent_phone.text())

    def agent_input(self, mode: Mode) -> AgentInput | None:
        if mode is Mode.SELF:
            return None
        return AgentInput(self.agent_name.text(), self.agent_id.text(), self.agent_relation.text(),
                          self.agent_phone.text())

    # -- the draft -------------------------------------------------------------------

    def save_draft(self, draft: Draft) -> None:
        put_texts(draft, self.texts)

    def restore_draft(self, draft: Draft) -> None:
        take_texts(draft, self.texts)

    def is_blank(self) -> bool:
        return not any_text(self.texts)

    def clear(self) -> None:
        for field in self.texts.values():
            field.clear()
