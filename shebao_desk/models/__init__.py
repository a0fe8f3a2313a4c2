"""The tables of the local store (SQLAlchemy 2 typed ORM); the card states they store come from rules."""

from shebao_desk.models.audit import AuditEntry, AuditHead, AuditSeal
from shebao_desk.models.base import Base, Row, table_of, utcnow
from shebao_desk.models.calendar import CalendarYear
from shebao_desk.models.cases import Case, CaseAttachment, CaseStatus, Inquiry
from shebao_desk.models.chip import ChipWrite, ChipWriteState
from shebao_desk.models.outlets import Outlet, SupervisionVisit
from shebao_desk.models.ratings import CaseRating
from shebao_desk.models.people import Card, LossChannel, LossReport, Person, PersonStatus, TempCard
from shebao_desk.models.site import Attendance, Clerk, Role, Site
from shebao_desk.models.sync import (SyncChange, SyncClock, SyncConflict, SyncParked, SyncPeer, SyncQuarantine,
                                     SyncState, SyncWorkstation)
from shebao_desk.rules.card_states import VALID_CARD_STATUSES, CardStatus, LossKind

__all__ = [
    "AuditEntry", "AuditHead", "AuditSeal", "Attendance", "Base", "CalendarYear", "Card", "CardStatus", "Case", "CaseAttachment", "CaseRating", "CaseStatus", "Clerk",
    "ChipWrite", "ChipWriteState",
    "Inquiry", "LossChannel", "Outlet", "SupervisionVisit", "LossKind", "LossReport", "Person", "PersonStatus", "Role", "Row",
    "Site", "SyncChange", "TempCard", "SyncClock", "SyncConflict", "SyncParked", "SyncPeer", "SyncQuarantine", "SyncState", "SyncWorkstation", "VALID_CARD_STATUSES", "table_of",
    "utcnow",
]
