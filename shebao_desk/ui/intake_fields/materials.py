"""已提交材料: one box per material the business asks for in this mode (businesses.toml), ticked as handed in."""

from __future__ import annotations

from collections.abc import Iterable

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
        self.shown: tuple[str, ...] = ()
        self._layout = QVBoxLayout(self)

    def show_business(self, business: Business, mode: Mode, changes: Iterable[str] = ()) -> None:
        """The boxes for this business and mode (and, for an information change, the fields that change);
        what was ticked and is still asked for stays ticked."""
        needed = business.needed(mode, changes)
        if needed == self.shown and all(code in self.boxes for code in needed):
            self._mark_optional(business)
            return
        self.shown = needed
        ticked = self.ticked()
        for box in self.boxes.values():
            self._layout.removeWidget(box)
            box.deleteLater()
        self.boxes = {}
        for code in needed:
            box = named(QCheckBox(checked=code in ticked), f"material_{code}")  # type: ignore[call-overload]  # inherited property keyword, not in PySide6's stubs
            box.toggled.connect(self.changed)
            self._layout.addWidget(box)
            self.boxes[code] = box
        self._mark_optional(business)

    def _mark_optional(self, business: Business) -> None:
        for code, box in self.boxes.items():
            box.setText(self.catalogue.material_name(code) + (self.tr("（有则提交）") if code in business.optional else ""))

    def tick(self, codes: Iterable[str]) -> None:
        """Tick what was handed in already (a returning applicant's earlier materials)."""
        for code in codes:
            if code in self.boxes:
                self.boxes[code].setChecked(True)

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
