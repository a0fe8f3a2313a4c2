"""This store's site row: which window and workstation it belongs to."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from shebao_desk.errors import ValidationError
from shebao_desk.models import Site
from shebao_desk.site_config import SiteConfig


def get_site(session: Session) -> Site | None:
    return session.scalar(select(Site).limit(1))


def ensure_site(session: Session, config: SiteConfig, workstation_id: str = "A", *, training: bool = False) -> Site:
    site = get_site(session)
    if site is not None:
        return site
    if not re.fullmatch(r"[A-Za-z0-9]{1,4}", workstation_id):
        raise ValidationError("工作站编号应为 1—4 位字母或数字")
    site = Site(institution=config.institution, window_name=config.window_name,
                window_code=config.window_code, workstation_id=workstation_id.upper(),
                region_code=config.region_code, training=training)
    session.add(site)
    session.flush()
    return site
