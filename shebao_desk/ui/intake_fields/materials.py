"""已提交材料: one box per material the business asks for in this mode (businesses.toml), ticked as handed in."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QGroupBox, QVBoxLayout

from shebao_desk.config.catalogue import Business, Catalogue, Mode
from shebao_desk.ui.intake_fields.draft import Draft
from shebao_desk.ui.widgets import named


class MaterialFields(QGroupBox):
    changed = Signal()

    def __init__(self, catalogue: Catalogue) -> None:
        super().__init__()
        self.setTitle(self.tr("已提交材料（勾选）"))
        self.catalogue = catalogue
        self.boxes: dict[str, QCheckBox] = {}
        self._layout = QVBoxLayout(self)

    def show_business(self, business: Business, mode: Mode) -> None:
        """The boxes for this business and mode; what was ticked and is still asked for stays ticked."""
        ticked = self.ticked()
        for box in self.boxes.values():
            self._layout.removeWidget(box)
            box.deleteLater()
        self.boxes = {}
        for code in business.required(mode):
            label = self.catalogue.material_name(code) + (self.tr("（有则提交）") if code in business.optional else "")
            box = named(QCheckBox(label, checked=code in ticked), f"material_{code}")  # type: ignore[call-overload]  # inherited property keyword, not in PySide6's stubs
            box.toggled.connect(self.changed)
            self._layout.addWidget(box)
            self.boxes[code] = box

    def ticked(self) -> set[str]:
        return {code for code, box in self.boxes.items() if box.isChecked()}

    def tick_all(self) -> None:
        for box in self.boxes.values():
            box.setChecked(True)

    # -- the draft -------------------------------------------------------------------

    def save_draft(self, draft: Draft) -> None:
        draft["materials"] = sorted(self.ticked())

    def restore_draft(self, draft: Draft) -> None:
        codes = draft.get("materials")
        for code in codes if isinstance(codes, list) else []:
            if isinstance(code, str) and code in self.boxes:
                self.boxes[code].setChecked(True)

    def clear(self) -> None:
        for box in self.boxes.values():
            box.setChecked(False)
