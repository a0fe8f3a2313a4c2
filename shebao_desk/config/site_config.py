"""The window's own parameters from ``resources/site.toml``, validated on load."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AfterValidator, ConfigDict, Field, StringConstraints, ValidationInfo, field_validator, model_validator,
)

from shebao_desk.config.data_models import FileModel, validate
from shebao_desk.config.resources import load_toml, resource_path


WHERE_BUSINESSES = ("formal_loss", "reissue", "replace")


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
    clock_skew_minutes: int = 10  # a received change stamped later than now + this is refused
    bundle_max_mb: int = 256  # largest bundle file, and largest content once decompressed
    bundle_max_ratio: int = 50  # decompressed / compressed: beyond it a bundle is a bomb, not data
    # Where formal loss / reissue / replacement are done: "window" (here) or "bank" (the issuing bank).
    done_at: dict[str, str] = field(default_factory=lambda: dict.fromkeys(WHERE_BUSINESSES, "window"))
    minimums: Minimums = Minimums()
    # The folder the photo station or 高拍仪 software saves into; F7 takes its newest photo ("" = none).
    photo_watch_folder: str = ""

    def done_at_bank(self, business: str) -> bool:
        return self.done_at.get(business) == "bank"


Positive = Annotated[int, Field(gt=0)]
Count = Annotated[int, Field(ge=0)]
Text = Annotated[str, StringConstraints(min_length=1)]
Where = Literal["window", "bank"]


def _clock_time(text: str) -> str:
    try:
        dt.time.fromisoformat(text)
    except ValueError:
        raise ValueError(f"应为 HH:MM 格式的时间，现为 “{text}”") from None
    return text


ClockTime = Annotated[str, AfterValidator(_clock_time)]


class SiteSection(FileModel):
    institution: Text
    window_name: Text
    window_code: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9]{1,8}$")] = Field(
        description="1—8 位字母或数字，全市唯一，用于受理编号")
    region_code: Annotated[str, StringConstraints(pattern=r"^\d{6}$")] = Field(description="6 位行政区划代码")
    level: Literal["city", "county"]
    address: str
    phone: str
    hours: str
    opens: ClockTime
    closes: ClockTime

    @model_validator(mode="after")
    def _closes_after_opens(self) -> SiteSection:
        if dt.time.fromisoformat(self.closes) <= dt.time.fromisoformat(self.opens):
            raise ValueError("site.closes 应晚于 site.opens")
        return self


class CardSection(FileModel):
    initial_pin: str
    temp_loss_days: Positive
    pin_length: Positive

    @model_validator(mode="after")
    def _pin_matches_length(self) -> CardSection:
        pin = self.initial_pin
        if not (pin.isdigit() and pin.isascii() and len(pin) == self.pin_length):
            raise ValueError(f"card.initial_pin 应为 {self.pin_length} 位数字")
        return self


class SecuritySection(FileModel):
    login_max_failures: Positive
    lockout_minutes: Positive
    idle_lock_minutes: Positive


class PhotoSection(FileModel):
    width: Positive
    height: Positive
    dpi: Positive
    min_kb: Positive
    max_kb: Positive
    watch_folder: str = ""

    @model_validator(mode="after")
    def _sizes(self) -> PhotoSection:
        if self.max_kb < self.min_kb:
            raise ValueError("photo.max_kb 应不小于 photo.min_kb")
        return self


class SyncSection(FileModel):
    warn_after_days: Positive = 3
    central_url: str = ""
    clock_skew_minutes: Positive = 10  # a received change stamped later than now + this is refused
    bundle_max_mb: Positive = 256  # largest bundle file, and largest content once decompressed
    bundle_max_ratio: Positive = 50  # decompressed / compressed: beyond it a bundle is a bomb


class ProfileSection(FileModel):
    windows: Count = 0
    area_m2: Annotated[float, Field(ge=0)] = 0.0
    computers: Count = 0
    dedicated_network: bool = False
    scanners: Count = 0
    sign: bool = False
    guide_on_display: bool = False

    model_config = ConfigDict(extra="forbid", strict=False, frozen=True)  # 16 or 16.5 m²

    @field_validator("windows", "computers", "scanners", "dedicated_network", "sign", "guide_on_display",
                     mode="before")
    @classmethod
    def _no_coercion(cls, value: object, info: ValidationInfo) -> object:
        expected = bool if info.field_name in ("dedicated_network", "sign", "guide_on_display") else int
        if type(value) is not expected:  # noqa: E721 - bool is an int; neither stands in for the other
            raise ValueError("应为 true 或 false" if expected is bool else "应为整数（台数）")
        return value


class WhereSection(FileModel):
    formal_loss: Where = "window"
    reissue: Where = "window"
    replace: Where = "window"


class MinimumsSection(FileModel):
    readers: Positive = Minimums.readers
    printers: Positive = Minimums.printers
    scanners: Positive = Minimums.scanners
    county_computers: Positive = Minimums.county_computers
    county_staff: Positive = Minimums.county_staff
    city_staff: Positive = Minimums.city_staff


class BankOutletEntry(FileModel):
    name: Text
    address: str
    phone: str
    hours: str


class SiteFile(FileModel):
    """resources/site.toml"""

    site: SiteSection
    profile: ProfileSection = ProfileSection()
    minimums: MinimumsSection = MinimumsSection()
    card: CardSection
    security: SecuritySection
    photo: PhotoSection
    sync: SyncSection = SyncSection()
    where: WhereSection = WhereSection()
    bank_outlets: list[BankOutletEntry] = Field(min_length=1, description="发卡银行网点，至少一个")


def parse_site_config(path: Path) -> SiteConfig:
    f = validate(path, SiteFile, load_toml(path))
    site = f.site.model_dump()
    return SiteConfig(
        **{**site, "opens": dt.time.fromisoformat(f.site.opens), "closes": dt.time.fromisoformat(f.site.closes)},
        initial_pin=f.card.initial_pin, temp_loss_days=f.card.temp_loss_days, pin_length=f.card.pin_length,
        **f.security.model_dump(),
        **{f"photo_{k}": v for k, v in f.photo.model_dump().items()},
        sync_warn_after_days=f.sync.warn_after_days, central_url=f.sync.central_url,
        clock_skew_minutes=f.sync.clock_skew_minutes, bundle_max_mb=f.sync.bundle_max_mb,
        bundle_max_ratio=f.sync.bundle_max_ratio,
        bank_outlets=tuple(BankOutlet(**o.model_dump()) for o in f.bank_outlets),
        profile=SiteProfile(**{**f.profile.model_dump(), "area_m2": float(f.profile.area_m2)}),
        done_at=f.where.model_dump(),
        minimums=Minimums(**f.minimums.model_dump()),
    )


@lru_cache(maxsize=1)
def load_site_config() -> SiteConfig:
    return parse_site_config(resource_path("site.toml"))
