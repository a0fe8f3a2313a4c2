"""GB/T 2260 region codes, loaded from ``resources/regions.toml``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from shebao_desk.errors import ResourceError
from shebao_desk.resources import load_toml, require, resource_path

_CODE = re.compile(r"^\d{6}$")


@dataclass(frozen=True)
class Regions:
    provinces: dict[str, str]
    codes: dict[str, str]
    historic: dict[str, str]
    detailed_provinces: frozenset[str]

    def name(self, code: str) -> str | None:
        """The region's name, or None if the code is unknown."""
        if code in self.codes:
            return self.codes[code]
        if code in self.historic:
            return self.historic[code]
        if code[:2] in self.provinces and code[:2] not in self.detailed_provinces:
            return self.provinces[code[:2]]
        return None

    def is_known(self, code: str) -> bool:
        return self.name(code) is not None


def parse_regions(path: Path) -> Regions:
    data = load_toml(path)
    provinces = require(path, data, "provinces", dict)
    codes = require(path, data, "codes", dict)
    historic = data.get("historic", {})
    detailed = require(path, data, "detailed_provinces", list)
    for key in provinces:
        if not re.fullmatch(r"\d{2}", key):
            raise ResourceError(path, f"省级代码 “{key}” 应为 2 位数字")
    for table_name, table in (("codes", codes), ("historic", historic)):
        for key, value in table.items():
            if not _CODE.match(key):
                raise ResourceError(path, f"[{table_name}] 中的代码 “{key}” 应为 6 位数字")
            if not isinstance(value, str) or not value:
                raise ResourceError(path, f"[{table_name}] 中代码 {key} 缺少名称")
            if key[:2] not in provinces:
                raise ResourceError(path, f"[{table_name}] 中代码 {key} 的省级代码不存在")
    return Regions(dict(provinces), dict(codes), dict(historic), frozenset(str(p) for p in detailed))


@lru_cache(maxsize=1)
def load_regions() -> Regions:
    return parse_regions(resource_path("regions.toml"))
