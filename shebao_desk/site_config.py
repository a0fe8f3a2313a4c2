"""The window's own parameters from ``resources/site.toml``, validated on load."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from shebao_desk.errors import ResourceError
from shebao_desk.resources import load_toml, require, resource_path


@dataclass(frozen=True)
class BankOutlet:
    name: str
    address: str
    phone: str
    hours: str


@dataclass(frozen=True)
class SiteProfile:
    """What the window declares about itself for the self-check (Articles 7–9)."""

    windows: int
    area_m2: float
    computers: int
    dedicated_network: bool
    scanners: int
    sign: bool
    guide_on_display: bool


@dataclass(frozen=True)
class Minimums:
    """The regulation's equipment and staff minimums (Articles 9–10), from site.toml [minimums]."""

    readers: int = 2
    printers: int = 1
    scanners: int = 1
    county_computers: int = 2  # a city window needs one per clerk instead
    county_staff: int = 3
    city_staff: int = 2


@dataclass(frozen=True)
class SiteConfig:
    institution: str
    window_name: str
    window_code: str
    region_code: str
    level: str
    address: str
    phone: str
    hours: str
    opens: dt.time
    closes: dt.time
    initial_pin: str
    temp_loss_days: int
    pin_length: int
    login_max_failures: int
    lockout_minutes: int
    idle_lock_minutes: int
    photo_width: int
    photo_height: int
    photo_dpi: int
    photo_min_kb: int
    photo_max_kb: int
    sync_warn_after_days: int
    central_url: str
    bank_outlets: tuple[BankOutlet, ...]
    profile: SiteProfile
    # Where formal loss / reissue / replacement are done: "window" (here) or "bank" (the issuing bank).
    done_at: dict[str, str] = field(default_factory=lambda: dict.fromkeys(WHERE_BUSINESSES, "window"))
    minimums: Minimums = Minimums()

    def done_at_bank(self, business: str) -> bool:
        return self.done_at.get(business) == "bank"


WHERE_BUSINESSES = ("formal_loss", "reissue", "replace")


def _time(path: Path, text: str, label: str) -> dt.time:
    try:
        return dt.time.fromisoformat(text)
    except ValueError:
        raise ResourceError(path, f"{label} 应为 HH:MM 格式的时间，现为 “{text}”") from None


def _positive(path: Path, table: dict, key: str, where: str) -> int:
    value = require(path, table, key, int, where)
    if value <= 0:
        raise ResourceError(path, f"{where}.{key} 应为正整数")
    return value


def parse_site_config(path: Path) -> SiteConfig:
    data = load_toml(path)
    site = require(path, data, "site", dict)
    card = require(path, data, "card", dict)
    security = require(path, data, "security", dict)
    photo = require(path, data, "photo", dict)
    sync = data.get("sync", {"warn_after_days": 3})
    text = {k: require(path, site, k, str, "site") for k in (
        "institution", "window_name", "window_code", "region_code", "level",
        "address", "phone", "hours", "opens", "closes")}
    if not re.fullmatch(r"[A-Za-z0-9]{1,8}", text["window_code"]):
        raise ResourceError(path, "site.window_code 应为 1—8 位字母或数字")
    if not re.fullmatch(r"\d{6}", text["region_code"]):
        raise ResourceError(path, "site.region_code 应为 6 位行政区划代码")
    if text["level"] not in ("city", "county"):
        raise ResourceError(path, "site.level 只能是 city 或 county")
    pin_length = _positive(path, card, "pin_length", "card")
    initial_pin = require(path, card, "initial_pin", str, "card")
    if not (initial_pin.isdigit() and initial_pin.isascii() and len(initial_pin) == pin_length):
        raise ResourceError(path, f"card.initial_pin 应为 {pin_length} 位数字")
    outlets = []
    for i, entry in enumerate(data.get("bank_outlets", [])):
        where = f"bank_outlets[{i}]"
        outlets.append(BankOutlet(*(require(path, entry, k, str, where) for k in ("name", "address", "phone", "hours"))))
    if not outlets:
        raise ResourceError(path, "至少要有一个发卡银行网点（[[bank_outlets]]）")
    opens, closes = _time(path, text.pop("opens"), "site.opens"), _time(path, text.pop("closes"), "site.closes")
    if closes <= opens:
        raise ResourceError(path, "site.closes 应晚于 site.opens")
    min_kb, max_kb = _positive(path, photo, "min_kb", "photo"), _positive(path, photo, "max_kb", "photo")
    if max_kb < min_kb:
        raise ResourceError(path, "photo.max_kb 应不小于 photo.min_kb")
    return SiteConfig(
        **text, opens=opens, closes=closes,
        initial_pin=initial_pin,
        temp_loss_days=_positive(path, card, "temp_loss_days", "card"),
        pin_length=pin_length,
        login_max_failures=_positive(path, security, "login_max_failures", "security"),
        lockout_minutes=_positive(path, security, "lockout_minutes", "security"),
        idle_lock_minutes=_positive(path, security, "idle_lock_minutes", "security"),
        photo_width=_positive(path, photo, "width", "photo"),
        photo_height=_positive(path, photo, "height", "photo"),
        photo_dpi=_positive(path, photo, "dpi", "photo"),
        photo_min_kb=min_kb, photo_max_kb=max_kb,
        sync_warn_after_days=_positive(path, sync, "warn_after_days", "sync"),
        central_url=str(sync.get("central_url", "")),
        bank_outlets=tuple(outlets),
        profile=_profile(path, data.get("profile", {})),
        done_at=_where(path, data.get("where", {})),
        minimums=Minimums(**{k: _positive(path, data.get("minimums", {}), k, "minimums")
                             for k in Minimums.__dataclass_fields__ if k in data.get("minimums", {})}),
    )


def _where(path: Path, table: dict) -> dict[str, str]:
    out = {}
    for business in WHERE_BUSINESSES:
        value = table.get(business, "window")
        if value not in ("window", "bank"):
            raise ResourceError(path, f"where.{business} 只能是 window（本窗口）或 bank（发卡银行网点）")
        out[business] = value
    unknown = set(table) - set(WHERE_BUSINESSES)
    if unknown:
        raise ResourceError(path, f"[where] 中未知的业务：{', '.join(sorted(unknown))}")
    return out


def _profile(path: Path, table: dict) -> SiteProfile:
    where = "profile"
    counts = {k: int(table.get(k, 0)) for k in ("windows", "computers", "scanners")}
    if any(v < 0 for v in counts.values()):
        raise ResourceError(path, "profile 中的台数不能为负数")
    area = table.get("area_m2", 0)
    if not isinstance(area, (int, float)) or isinstance(area, bool) or area < 0:
        raise ResourceError(path, f"{where}.area_m2 应为面积（平方米）")
    flags = {}
    for key in ("dedicated_network", "sign", "guide_on_display"):
        value = table.get(key, False)
        if not isinstance(value, bool):
            raise ResourceError(path, f"{where}.{key} 应为 true 或 false")
        flags[key] = value
    return SiteProfile(area_m2=float(area), **counts, **flags)


@lru_cache(maxsize=1)
def load_site_config() -> SiteConfig:
    return parse_site_config(resource_path("site.toml"))
