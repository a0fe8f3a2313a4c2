"""冲突 (supervisors): sync conflicts the merge flagged, settled by voiding the card(s) that must go."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from shebao_desk.clock import local_text
from shebao_desk.services.conflicts import list_conflicts, resolve_conflict
from shebao_desk.models import Clerk
from shebao_desk.ui.ops import run_op
from shebao_desk.ui.widgets import Hint, Table, named


class ConflictsPage(QWidget):
    def __init__(self, ctx) -> None:
        super().__init__()
        self.ctx = ctx
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("同步后规则无法自动处理的情况：选中一行（一张有效卡），处理后其余应作废的卡作废；"
                                "处理结果随同步传到其他工作站。"))
        self.table = Table(["冲突", "人员", "身份证号码", "卡", "卡状态", "登记时间", "发现时间"], "conflicts")
        layout.addWidget(self.table, 1)
        row = QHBoxLayout()
        refresh = named(QPushButton("刷新"), "refresh_conflicts")
        self.resolve = named(QPushButton("保留选中的卡，处理此冲突"), "resolve_conflict")
        row.addWidget(refresh)
        row.addStretch(1)
        row.addWidget(self.resolve)
        layout.addLayout(row)
        self.hint = Hint("conflicts_hint")
        layout.addWidget(self.hint)
        refresh.clicked.connect(self.refresh)
        self.resolve.clicked.connect(self.resolve_selected)

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        self.refresh()

    def refresh(self) -> None:
        def done(conflicts) -> None:
            rows, payloads = [], []
            for c in conflicts:
                for card in c.valid_cards or [None]:
                    rows.append([c.label, c.person_name, c.masked_id_number,
                                 (card.card_number or "（未读卡）") if card else "", card.status if card else "",
                                 local_text(card.created_at) if card else "", local_text(c.detected_at)])
                    payloads.append((c, card))
            self.table.fill(rows, payloads)
            self.resolve.setEnabled(bool(conflicts))
            if conflicts:
                self.hint.problem(f"{len(conflicts)} 处同步冲突待处理")
            else:
                self.hint.fine("没有待处理的同步冲突")

        run_op(self, self.ctx, list_conflicts, done, read=True, hint=self.hint)

    def resolve_selected(self) -> None:
        ctx = self.ctx
        row = self.table.currentRow()
        if row < 0 or row >= len(self.table.payloads):
            self.hint.problem("请先选中一行")
            return
        conflict, card = self.table.payloads[row]
        keep = card.id if conflict.needs_choice and card else None

        def work(s):
            return resolve_conflict(s, conflict.id, s.get(Clerk, ctx.clerk.id), keep_card_id=keep)

        def done(voided) -> None:
            self.refresh()
            self.hint.fine(f"冲突已处理：作废 {len(voided)} 张卡")
            window = self.window()
            if hasattr(window, "refresh_sync_status"):
                window.refresh_sync_status()

        run_op(self, ctx, work, done, unit=f"resolve conflict {conflict.id}", hint=self.hint,
               changes={"cards", "conflicts"})
