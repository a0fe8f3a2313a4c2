"""Finding and loading the county-editable data files under ``resources/``.

Files are TOML (readable, commented, editable in Notepad). Each loader validates
what it reads and raises :class:`ResourceError` naming the file and the problem,
so a broken file stops the start with a message instead of a wrong answer later.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from shebao_desk.errors import ResourceError


def resources_dir() -> Path:
    """The data folder: ``SHEBAO_RESOURCES`` if set, else the one beside the package."""
    override = os.environ.get("SHEBAO_RESOURCES")
    if override:
        return Path(override)
    return Path(__file__).resolve().parent.parent.parent / "resources"


def resource_path(*parts: str) -> Path:
    return resources_dir().joinpath(*parts)


def load_toml(path: Path) -> dict[str, Any]:
    import tomllib  # noqa: PLC0415 - start-up: the login window finds its translations here, before any TOML

    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ResourceError(path, "文件不存在") from None
    except tomllib.TOMLDecodeError as exc:
        raise ResourceError(path, f"格式错误：{exc}") from None
    except UnicodeDecodeError as exc:
        raise ResourceError(path, f"不是 UTF-8 编码：{exc}") from None


def require(path: Path, table: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str = "") -> Any:
    """Fetch ``table[key]`` and check its type, or raise a ResourceError naming it."""
    label = f"{where}.{key}" if where else key
    if key not in table:
        raise ResourceError(path, f"缺少字段 “{label}”")
    value = table[key]
    # bool is an int in Python; a county writing true for a number is an error.
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise ResourceError(path, f"字段 “{label}” 的类型不对")
    if not isinstance(value, kind):
        raise ResourceError(path, f"字段 “{label}” 的类型不对（应为 {_kind_name(kind)}）")
    return value


def _kind_name(kind: type | tuple[type, ...]) -> str:
    names = {str: "文字", int: "整数", float: "数字", list: "列表", dict: "表", bool: "是/否"}
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return "或".join(names.get(k, k.__name__) for k in kinds)
