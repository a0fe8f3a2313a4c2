"""The card usage guide and service flows (Article 8) and the common inquiry topics, as data."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from shebao_desk.errors import ResourceError
from shebao_desk.resources import load_toml, require, resource_path


@dataclass(frozen=True)
class ServiceGuide:
    title: str
    sections: tuple[tuple[str, str], ...]
    flows: tuple[tuple[str, tuple[str, ...]], ...]
    topics: tuple[str, ...]


def parse_guide(path: Path) -> ServiceGuide:
    data = load_toml(path)
    sections = tuple((require(path, g, "heading", str, f"guide[{i}]"), require(path, g, "text", str, f"guide[{i}]"))
                     for i, g in enumerate(require(path, data, "guide", list)))
    flows = []
    for i, f in enumerate(require(path, data, "flow", list)):
        steps = require(path, f, "steps", list, f"flow[{i}]")
        if not steps or not all(isinstance(s, str) and s for s in steps):
            raise ResourceError(path, f"flow[{i}].steps 应为非空的文字列表")
        flows.append((require(path, f, "title", str, f"flow[{i}]"), tuple(steps)))
    topics = tuple(require(path, data, "topics", list))
    if not topics:
        raise ResourceError(path, "topics 不能为空")
    return ServiceGuide(require(path, data, "title", str), sections, tuple(flows), topics)


@lru_cache(maxsize=1)
def load_guide() -> ServiceGuide:
    return parse_guide(resource_path("service_guide.toml"))
