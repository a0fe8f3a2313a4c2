"""The applicant's side of the counter as county data (``resources/applicant.toml``), validated on load."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from shebao_desk.config.data_models import FileModel, validate
from shebao_desk.config.resources import load_toml, resource_path


class ScreenSection(FileModel):
    monitor: int = Field(ge=0, le=8, description="申请人屏幕所在显示器（1 起），0 = 不用")
    font_px: int = Field(ge=16, le=80)


class PinSection(FileModel):
    entry: Literal["applicant", "clerk"]


class SignatureSection(FileModel):
    mode: Literal["paper", "screen"]


class RatingSection(FileModel):
    source: str = Field(min_length=1)
    levels: list[str] = Field(min_length=5)
    bad_levels: list[str] = Field(min_length=1)
    follow_up_workdays: int = Field(ge=1, le=60)
    reasons: list[str] = Field(min_length=1)
    online_url: str

    @model_validator(mode="after")
    def _bad_are_levels(self) -> RatingSection:
        if not set(self.bad_levels) <= set(self.levels):
            raise ValueError("rating.bad_levels 应是 rating.levels 中的等级")
        if len(set(self.levels)) != len(self.levels):
            raise ValueError("rating.levels 中有重复的等级")
        return self


class ApplicantSettings(FileModel):
    screen: ScreenSection
    pin: PinSection
    signature: SignatureSection
    rating: RatingSection

    def is_bad(self, level: str) -> bool:
        return level in self.rating.bad_levels


def parse_applicant_settings(path: Path) -> ApplicantSettings:
    return validate(path, ApplicantSettings, load_toml(path))


@lru_cache(maxsize=1)
def load_applicant_settings() -> ApplicantSettings:
    return parse_applicant_settings(resource_path("applicant.toml"))
