"""Small widgets shared by the pages."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import QHeaderView, QLabel, QTableWidget, QTableWidgetItem

from shebao_desk.clock import local_text, today
from shebao_desk.rules.idnumber import mask_id_number
from shebao_desk.ui.naming import named as named  # the pages import it from here; the start dialog from ui.naming


def china_today() -> QDate:
    """Today's date in China for a date field (QDate.currentDate() is the PC's zone, maybe UTC)."""
    day = today()
    return QDate(day.year, day.month, day.day)


class Hint(QLabel):
    """A one-line message under a field: red for a problem, green when fine. ``collapse``: takes no room
    while it says nothing (the intake form's many lines would otherwise push the fields apart)."""

    def __init__(self, object_name: str = "", *, collapse: bool = False) -> None:
        super().__init__()
        self.setObjectName(object_name)
        self.setWordWrap(True)
        self.collapse = collapse
        if collapse:
            self.hide()

    def _say(self, style: str, text: str) -> None:
        self.setStyleSheet(style)
        self.setText(text)
        if self.collapse:
            self.setVisible(bool(text))

    def problem(self, text: str) -> None:
        self._say("color:#b00020", text)

    def fine(self, text: str) -> None:
        self._say("color:#1b5e20", text)

    def info(self, text: str) -> None:
        self._say("color:#333", text)


class Table(QTableWidget):
    """A read-only table filled from rows of strings; row data kept for double-click."""

    def __init__(self, headers: list[str], object_name: str = "") -> None:
        super().__init__(0, len(headers))
        self.setObjectName(object_name)
        self.setHorizontalHeaderLabels(headers)
        self.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.verticalHeader().setVisible(False)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.horizontalHeader().setStretchLastSection(True)
        self.payloads: list[Any] = []  # what each row stands for (an id, a path): the page's own

    def fill(self, rows: list[list[str]], payloads: list[Any] | None = None) -> None:
        self.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                item = QTableWidgetItem(value)
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                self.setItem(r, c, item)
        self.payloads = list(payloads or [None] * len(rows))

    def text(self, row: int, col: int) -> str:
        item = self.item(row, col)
        return item.text() if item else ""


CASE_COLUMNS = ["受理编号", "业务", "申请人", "身份证号码", "状态", "受理时间", "承诺日期"]


def case_row(case, catalogue) -> list[str]:
    """A case as one line of a list: the ID number masked, times in China time."""
    # a queries.CaseLine carries the person's columns itself; an ORM Case reaches them through .person
    name, id_number = ((case.person_name, case.person_id_number) if hasattr(case, "person_name")
                       else (case.person.name, case.person.id_number))
    return [case.number, catalogue[case.business].name, name, mask_id_number(id_number),
            case.status.label, local_text(case.accepted_at),
            str(case.promised_date or "") + (" 预计" if case.promised_date and case.promise_provisional else "")]
