"""``report … --central``: the statistics of every window of the city, from the central database."""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from shebao_desk.config.policy import Policy
from shebao_desk.services.report_export import export
from shebao_desk.services.statistics import Period, city_sections
from shebao_desk.sync.central import SyncError, central_engine

log = logging.getLogger(__name__)


def city_report(url: str, period: Period, policy: Policy, out: Path) -> None:
    engine = central_engine(url)
    try:
        with Session(engine) as session:
            sections = city_sections(session, period, policy)
    except (OperationalError, DBAPIError) as exc:
        raise SyncError("无法从中心数据库读取统计数据，请检查网络和中心数据库地址",
                        f"city report at {engine.url.host}: {exc.__class__.__name__}: {getattr(exc, 'orig', exc)}") from exc
    finally:
        engine.dispose()
    export(out, "全市社会保障卡业务统计（各窗口）", period, sections)
    log.info("city report %s: %d windows", period.label, len(sections[0][1]) - 1)
