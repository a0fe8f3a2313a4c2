"""Card holders, their cards and loss reports."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Date, ForeignKey, Index, LargeBinary, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shebao_desk.models.base import Row, enum_column, utc, utc_opt
from shebao_desk.rules.card_states import CardStatus, LossKind


class PersonStatus(enum.StrEnum):
    ACTIVE = "active"
    CANCELLED = "cancelled"  # card cancelled after death or household cancellation


class LossChannel(enum.StrEnum):
    WINDOW = "window"
    HOTLINE_12333 = "12333"
    BANK_HOTLINE = "bank_hotline"
    ONLINE = "online"  # provincial service system

    @property
    def label(self) -> str:
        return {"window": "窗口", "12333": "12333 热线", "bank_hotline": "银行客服热线",
                "online": "省社会保障卡服务系统"}[self.value]


class Person(Row):
    __tablename__ = "person"

    id_number: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(50), index=True)
    sex: Mapped[str] = mapped_column(String(1))
    ethnicity: Mapped[str] = mapped_column(String(2), default="01")
    birth_date: Mapped[dt.date] = mapped_column(Date)
    birthplace: Mapped[str] = mapped_column(String(6), default="")
    phone: Mapped[str] = mapped_column(String(20), default="")
    address: Mapped[str] = mapped_column(String(200), default="")
    photo: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True, deferred=True)
    status: Mapped[PersonStatus] = mapped_column(enum_column(PersonStatus), default=PersonStatus.ACTIVE)
    cancelled_at: Mapped[utc_opt]
    large_print: Mapped[bool] = mapped_column(default=False, server_default=false())  # reads large type

    cards: Mapped[list[Card]] = relationship(back_populates="person", order_by="Card.created_at")
    temp_cards: Mapped[list[TempCard]] = relationship(back_populates="person", order_by="TempCard.issued_at")


class Card(Row):
    __tablename__ = "card"

    person_id: Mapped[str] = mapped_column(ForeignKey("person.id"), index=True)
    card_number: Mapped[str] = mapped_column(String(9), default="", index=True)
    card_id: Mapped[str] = mapped_column(String(32), default="")  # chip identifier, hex
    generation: Mapped[int] = mapped_column(default=3)
    status: Mapped[CardStatus] = mapped_column(enum_column(CardStatus), default=CardStatus.PENDING)
    issue_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    expiry_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    activated_at: Mapped[utc_opt]
    pin_reset_at: Mapped[utc_opt]
    void_at: Mapped[utc_opt]
    void_reason: Mapped[str] = mapped_column(String(100), default="")

    person: Mapped[Person] = relationship(back_populates="cards")
    losses: Mapped[list[LossReport]] = relationship(back_populates="card", order_by="LossReport.effective_at")


class LossReport(Row):
    __tablename__ = "loss_report"

    card_id: Mapped[str] = mapped_column(ForeignKey("card.id"), index=True)
    case_id: Mapped[str | None] = mapped_column(ForeignKey("case.id"), nullable=True)
    kind: Mapped[LossKind] = mapped_column(enum_column(LossKind))
    channel: Mapped[LossChannel] = mapped_column(enum_column(LossChannel))
    functions: Mapped[list[str]]  # "social", "financial"
    effective_at: Mapped[utc]
    expires_at: Mapped[utc_opt]  # None for a formal loss: it never lapses
    lifted_at: Mapped[utc_opt]
    lifted_case_id: Mapped[str | None] = mapped_column(String(36), nullable=True)

    card: Mapped[Card] = relationship(back_populates="losses")


class TempCard(Row):
    """A temporary card (临时卡) handed over free during 补换, tracked until it comes back: the new
    card may be used only once it is returned (Shaanxi 2018 guidance; businesses.toml ``temp_card``).
    Not a ``Card``: it has no financial function and no place in the one-valid-card rule."""

    __tablename__ = "temp_card"
    # The Today page's list of outstanding temporary cards: not returned, by validity.
    __table_args__ = (Index("ix_temp_card_outstanding", "returned_at", "valid_until"),)

    person_id: Mapped[str] = mapped_column(ForeignKey("person.id"), index=True)
    case_id: Mapped[str | None] = mapped_column(ForeignKey("case.id"), nullable=True)  # the 临时卡 case
    number: Mapped[str] = mapped_column(String(20))
    issued_at: Mapped[utc]
    valid_until: Mapped[dt.date] = mapped_column(Date)  # the last day it may be used
    returned_at: Mapped[utc_opt]  # None: still out (a return is never undone: changes.merge ranks it)
    returned_by: Mapped[str | None] = mapped_column(ForeignKey("clerk.id"), nullable=True)

    person: Mapped[Person] = relationship(back_populates="temp_cards")
