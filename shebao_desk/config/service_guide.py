"""The card usage guide and service flows (Article 8) and the common inquiry topics, as data."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from typing import Annotated

from pydantic import Field, StringConstraints

from shebao_desk.config.data_models import FileModel, validate
from shebao_desk.config.resources import load_toml, resource_path


@dataclass(frozen=True)
class ServiceGuide:
    title: str
    sections: tuple[tuple[str, str], ...]
    flows: tuple[tuple[str, tuple[str, ...]], ...]
    topics: tuple[str, ...]


class GuideSection(FileModel):
    heading: str
    text: str


class GuideFlow(FileModel):
    title: str
    steps: list[Annotated[str, StringConstraints(min_length=1)]] = Field(min_length=1)


class GuideFile(FileModel):
    """resources/service_guide.toml"""

    title: str
    guide: list[GuideSection]
    flow: list[GuideFlow]
    topics: list[Annotated[str, StringConstraints(min_length=1)]] = Field(min_length=1)


def parse_guide(path: Path) -> ServiceGuide:
    data = validate(path, GuideFile, load_toml(path))
    return ServiceGuide(data.title, tuple((g.heading, g.text) for g in data.guide),
                        tuple((f.title, tuple(f.steps)) for f in data.flow), tuple(data.topics))


@lru_cache(maxsize=1)
def load_guide() -> ServiceGuide:
    return parse_guide(resource_path("service_guide.toml"))
