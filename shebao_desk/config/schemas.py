"""The JSON Schema of every data file a county edits, for editors and the settings page."""

from __future__ import annotations

import json
from pathlib import Path

from shebao_desk.config.catalogue import CatalogueFile
from shebao_desk.config.document_layout import LayoutFile
from shebao_desk.config.regions import RegionsFile
from shebao_desk.config.service_guide import GuideFile
from shebao_desk.config.site_config import SiteFile
from shebao_desk.config.workdays import YearFile


def write_schemas(out: Path) -> list[Path]:
    """One JSON Schema per data file (``site.toml.schema.json`` …)."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, model in (("site.toml", SiteFile), ("businesses.toml", CatalogueFile),
                        ("service_guide.toml", GuideFile), ("regions.toml", RegionsFile),
                        ("documents/layout.toml", LayoutFile), ("calendar/year.toml", YearFile)):
        path = out / f"{name.replace('/', '-')}.schema.json"
        schema = model.model_json_schema(mode="validation", by_alias=True)
        path.write_text(json.dumps(schema, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
        written.append(path)
    return written
