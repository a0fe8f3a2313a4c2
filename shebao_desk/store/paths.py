"""Where a store lives by default, where its backups go, and the one line that says how to restore."""

from __future__ import annotations

from pathlib import Path

from platformdirs import user_data_dir

APP_NAME = "shebao-desk"


def default_db_path() -> Path:
    return Path(user_data_dir(APP_NAME, appauthor=False)) / "shebao.sqlite3"


def default_backup_dir() -> Path:
    return default_db_path().parent / "backups"


def restore_hint() -> str:
    return f"请用 shebao-desk db restore 从备份恢复（备份文件夹：{default_backup_dir()}）"
