"""GB/T 2260 region codes, loaded from ``resources/regions.toml``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import StringConstraints, model_validator

from shebao_desk.config.data_models import FileModel, validate
from shebao_desk.config.resources import load_toml, resource_path
from shebao_desk.rules.idnumber import Regions


Name = Annotated[str, StringConstraints(min_length=1)]


class RegionsFile(FileModel):
    """resources/regions.toml"""

    provinces: dict[Annotated[str, StringConstraints(pattern=r"^\d{2}$")], Name]
    codes: dict[Annotated[str, StringConstraints(pattern=r"^\d{6}$")], Name]
    historic: dict[Annotated[str, StringConstraints(pattern=r"^\d{6}$")], Name] = {}
    detailed_provinces: list[str]

    @model_validator(mode="after")
    def _provinces_exist(self) -> RegionsFile:
        for table_name, table in (("codes", self.codes), ("historic", self.historic)):
            for key in table:
                if key[:2] not in self.provinces:
                    raise ValueError(f"[{table_name}] 中代码 {key} 的省级代码不存在")
        return self


def parse_regions(path: Path) -> Regions:
    f = validate(path, RegionsFile, load_toml(path))
    return Regions(dict(f.provinces), dict(f.codes), dict(f.historic), frozenset(f.detailed_provinces))


@lru_cache(maxsize=1)
def load_regions() -> Regions:
    return parse_regions(resource_path("regions.toml"))
