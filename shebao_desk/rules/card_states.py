"""A card's states and the kinds of loss report (DOMAIN.md §3); the tables store them by value."""

from __future__ import annotations

import enum


class CardStatus(enum.StrEnum):
    PENDING = "pending"  # accepted, being made; the holder has not received it
    NORMAL = "normal"
    FORMALLY_LOST = "formally_lost"
    REPLACED = "replaced"
    CANCELLED = "cancelled"

    @property
    def valid(self) -> bool:
        return self in (CardStatus.PENDING, CardStatus.NORMAL)

    @property
    def label(self) -> str:
        return {"pending": "制卡中", "normal": "正常", "formally_lost": "已正式挂失",
                "replaced": "已换卡作废", "cancelled": "已注销"}[self.value]


VALID_CARD_STATUSES = (CardStatus.PENDING, CardStatus.NORMAL)


class LossKind(enum.StrEnum):
    TEMPORARY = "temporary"
    FORMAL = "formal"


# The functions a loss report suspends (Art. 15: the social security and the financial function are
# reported lost separately, through 12333 and the bank's hotline), by the code stored in loss_report.functions.
LOSS_FUNCTIONS = {"social": "社会保障功能", "financial": "金融功能"}
