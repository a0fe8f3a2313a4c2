"""The supervision of bank outlets (Articles 11 and 12), from ``resources/supervision.toml``."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from shebao_desk.config.resources import load_toml, require, resource_path
from shebao_desk.errors import ResourceError


@dataclass(frozen=True)
class SupervisionRules:
    population_threshold: int
    min_card_windows: int
    checklist: tuple[tuple[str, str], ...]  # (code, text)


def parse_supervision(path: Path) -> SupervisionRules:
    data = load_toml(path)
    art = require(path, data, "article_11", dict)
    items = []
    for i, entry in enumerate(require(path, data, "checklist", list)):
        items.append((require(path, entry, "code", str, f"checklist[{i}]"),
                      require(path, entry, "text", str, f"checklist[{i}]")))
    if len({c for c, _ in items}) != len(items):
        raise ResourceError(path, "checklist 中有重复的 code")
    return SupervisionRules(require(path, art, "population_threshold", int, "article_11"),
                            require(path, art, "min_card_windows", int, "article_11"), tuple(items))


@lru_cache(maxsize=1)
def load_supervision() -> SupervisionRules:
    return parse_supervision(resource_path("supervision.toml"))
