"""Bank outlets (Article 11) and their supervision (Article 12): the rule and the checklist."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from shebao_desk.errors import ResourceError
from shebao_desk.resources import load_toml, require, resource_path


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


def article_11(outlet, rules: SupervisionRules) -> list[str]:
    """What the outlet lacks under Article 11; empty when it complies."""
    problems = []
    if outlet.card_windows < rules.min_card_windows:
        problems.append(f"社会保障卡服务窗口不足 {rules.min_card_windows} 个")
    if outlet.town_population > rules.population_threshold:
        if outlet.atms < 1:
            problems.append(f"所在镇人口超过 {rules.population_threshold} 人，应设自助银行（至少 1 台 ATM）")
    elif outlet.atms + outlet.terminals < 1:
        problems.append("应至少设置 1 台自助查询终端")
    return problems
