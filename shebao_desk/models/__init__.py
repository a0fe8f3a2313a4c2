"""The tables of the local store (SQLAlchemy 2 typed ORM)."""

from shebao_desk.models.audit import AuditEntry, AuditHead, AuditSeal
from shebao_desk.models.base import Base, Row, utcnow
from shebao_desk.models.cases import Case, CaseStatus, Inquiry
from shebao_desk.models.outlets import Outlet, SupervisionVisit
from shebao_desk.models.people import (
    VALID_CARD_STATUSES, Card, CardStatus, LossChannel, LossKind, LossReport, Person, PersonStatus,
)
from shebao_desk.models.site import Attendance, Clerk, Role, Site
from shebao_desk.models.sync import SyncChange, SyncClock, SyncConflict, SyncPeer, SyncState

__all__ = [
    "AuditEntry", "AuditHead", "AuditSeal", "Attendance", "Base", "Card", "CardStatus", "Case", "CaseStatus", "Clerk",
    "Inquiry", "LossChannel", "Outlet", "SupervisionVisit", "LossKind", "LossReport", "Person", "PersonStatus", "Role", "Row",
    "Site", "SyncChange", "SyncClock", "SyncConflict", "SyncPeer", "SyncState", "VALID_CARD_STATUSES", "utcnow",
]
