"""What ``shebao-desk --version`` and the 关于 dialog show: the program's version, the schema
version its migrations bring a store to, and where this user's data and logs are.

A county's IT staff read these over the phone, so they name real folders, not defaults.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic.script import ScriptDirectory

from shebao_desk import __version__
from shebao_desk.logsetup import log_file
from shebao_desk.store.database import alembic_config, default_db_path, resolve_db_path

PROGRAM_NAME = "社会保障卡综合服务窗口工作台"


@dataclass(frozen=True)
class About:
    version: str
    schema: str
    data_folder: Path
    store: Path
    log_folder: Path

    def lines(self) -> list[str]:
        return [
            f"{PROGRAM_NAME}（shebao-desk）{self.version}",
            f"数据库结构版本：{self.schema}",
            f"数据文件夹：{self.data_folder}",
            f"数据库：{self.store}",
            f"日志文件夹：{self.log_folder}",
        ]


def schema_head() -> str:
    """The newest Alembic revision this program ships: every store it opens is brought to it."""

    return ScriptDirectory.from_config(alembic_config()).get_current_head() or "（无）"


def about(db: str | None = None) -> About:
    return About(version=__version__, schema=schema_head(), data_folder=default_db_path().parent,
                 store=resolve_db_path(db), log_folder=log_file().parent)
