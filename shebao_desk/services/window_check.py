"""The window's self-check against Articles 7–10 of the regulation: each rule, pass or fail.

Declared facts come from ``site.toml`` [profile]; readers, printers and active
clerks are counted live by the caller and passed in, so this module stays pure.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shebao_desk.config.site_config import SiteConfig
from shebao_desk.models import Clerk


@dataclass(frozen=True)
class Check:
    article: str
    rule: str
    required: str
    actual: str
    passed: bool


def self_check(cfg: SiteConfig, *, readers: int, printers: int, active_clerks: int,
               scanners: int | None = None) -> list[Check]:
    """``scanners``: counted live through SANE; None where it cannot be (no SANE): site.toml's number."""
    p = cfg.profile
    scanner_rule, scanner_count = ("扫描仪", p.scanners) if scanners is None else ("扫描仪（实时检测）", scanners)
    county, least = cfg.level == "county", cfg.minimums
    min_staff = least.county_staff if county else least.city_staff
    min_computers = least.county_computers if county else max(active_clerks, 1)  # city: one per clerk
    return [
        Check("第七条", "服务窗口数量", "至少 1 个", f"{p.windows} 个", p.windows >= 1),
        Check("第七条", "服务场所面积", "不少于 10 平方米", f"{p.area_m2:g} 平方米", p.area_m2 >= 10),
        Check("第八条", "统一标识“社会保障卡综合服务窗口”", "悬挂", "已悬挂" if p.sign else "未悬挂", p.sign),
        Check("第八条", "使用指南、服务流程", "明显位置摆放", "已摆放" if p.guide_on_display else "未摆放",
              p.guide_on_display),
        Check("第九条", "电脑", f"{f'县级至少 {min_computers} 台' if county else '按工作人员数量配备'}", f"{p.computers} 台",
              p.computers >= min_computers),
        Check("第九条", "专网", "开通", "已开通" if p.dedicated_network else "未开通", p.dedicated_network),
        Check("第九条", "打印机（实时检测）", f"至少 {least.printers} 台", f"{printers} 台", printers >= least.printers),
        Check("第九条", scanner_rule, f"至少 {least.scanners} 台", f"{scanner_count} 台",
              scanner_count >= least.scanners),
        Check("第九条", "读卡器（实时检测）", f"至少 {least.readers} 台", f"{readers} 台", readers >= least.readers),
        Check("第十条", "工作人员（在用账号）", f"{'县级' if county else '市级'}至少 {min_staff} 人",
              f"{active_clerks} 人", active_clerks >= min_staff),
    ]


def self_check_now(session: Session, cfg: SiteConfig, *, readers: int, printers: int, scanners: int | None = None) -> list[Check]:
    """The self-check with the active clerks counted from the store (the caller owns the session)."""

    staff = session.scalar(select(func.count()).select_from(Clerk).where(Clerk.active.is_(True))) or 0
    return self_check(cfg, readers=readers, printers=printers, active_clerks=staff, scanners=scanners)
