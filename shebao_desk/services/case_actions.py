"""What the clerk does to a stored case from its window (no Qt): complete it on the day the card was
collected, and file the copy of the applicant's ID card from the scanner, front then back."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from PIL import Image

from shebao_desk.clock import CHINA, now_utc
from shebao_desk.devices.scanner import ID_AREA_MM, ID_DPI, ScannerError, list_scanners, scan
from shebao_desk.errors import ValidationError
from shebao_desk.models import Case
from shebao_desk.services.actor import Actor
from shebao_desk.services.case_files import case_folder
from shebao_desk.services.case_papers import attach_id_copy
from shebao_desk.services.intake import complete_case
from shebao_desk.store.database import Store


def completion_time(day: dt.date, now: dt.datetime) -> dt.datetime:
    """Completed today (China time): now. Recorded later for an earlier day: noon of that day."""
    if day == now.astimezone(CHINA).date():
        return now
    return dt.datetime.combine(day, dt.time(12), CHINA).astimezone(dt.UTC)


def complete_on(store: Store, actor: Actor, case_id: str, day: dt.date, *, now: dt.datetime | None = None) -> None:
    """The applicant collected the new card on ``day``: the case is done, the card in use."""
    with actor.unit(store, "complete case") as session:
        case = session.get(Case, case_id)
        if case is None:
            raise ValidationError("找不到这件业务，可能已被同步删除", f"case {case_id} not found")
        complete_case(session, case, session.merge(actor.clerk), completion_time(day, now or now_utc()))


@dataclass(frozen=True)
class ScannedFace:
    device: str  # the SANE device that scanned it: the back is scanned on the same one
    image: Image.Image


def scan_id_face(device: str = "") -> ScannedFace:
    """One face of the ID card, at actual size, from ``device`` (else the first scanner SANE finds)."""
    device = device or next((s.device for s in list_scanners()), "")
    if not device:
        raise ScannerError("没有找到扫描仪，请检查扫描仪是否已连接、已开机", "no SANE device")
    return ScannedFace(device, scan(device, dpi=ID_DPI, area_mm=ID_AREA_MM))


def scan_back_and_file(store: Store, actor: Actor, case_id: str, number: str, front: ScannedFace) -> str:
    """The back face on the front's scanner, then both on one A4 page in the case folder, recorded
    with the case; the file's name."""
    back = scan_id_face(front.device)
    if store.path is None:
        raise ValueError("a store without a file has no case folders")
    with actor.unit(store, "scan id copy") as session:
        row = attach_id_copy(session, case_id, case_folder(store.path, number), number, front.image, back.image,
                             dpi=ID_DPI, device=back.device)
        return row.file_name
