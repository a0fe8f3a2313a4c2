"""`shebao-desk --version` and the 关于 dialog: the version, the schema a store is brought to, where data lives."""

import os
import subprocess
import sys

import pytest
from PySide6.QtWidgets import QPushButton

import shebao_desk
from shebao_desk.store.database import connect_file, open_store


def version_output(tmp_path, *args):
    env = dict(os.environ, XDG_DATA_HOME=str(tmp_path / "data"), XDG_STATE_HOME=str(tmp_path / "state"))
    env.pop("SHEBAO_DB", None)
    result = subprocess.run([sys.executable, "-m", "shebao_desk", *args, "--version"], capture_output=True,
                            text=True, timeout=60, env=env, check=False)
    assert result.returncode == 0, result.stderr
    return dict(line.split("：", 1) for line in result.stdout.splitlines()[1:]), result.stdout


def schema_a_new_store_gets(tmp_path):
    """Read from the store itself, not from the code under test: the revision Alembic wrote."""
    open_store(tmp_path / "probe.sqlite3").close()
    with connect_file(tmp_path / "probe.sqlite3") as conn:
        return conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]


@pytest.mark.slow  # runs the program in a subprocess
def test_version_names_program_schema_and_folders_without_touching_a_store(tmp_path):
    fields, text = version_output(tmp_path)
    assert text.splitlines()[0].endswith(shebao_desk.__version__) and "社会保障卡综合服务窗口工作台" in text
    assert fields["数据库结构版本"] == schema_a_new_store_gets(tmp_path)
    assert fields["数据文件夹"] == str(tmp_path / "data" / "shebao-desk")
    assert fields["数据库"] == str(tmp_path / "data" / "shebao-desk" / "shebao.sqlite3")
    assert fields["日志文件夹"].startswith(str(tmp_path / "state" / "shebao-desk"))
    assert not (tmp_path / "data").exists()  # asking for the version creates nothing


@pytest.mark.slow  # runs the program in a subprocess
def test_version_follows_the_chosen_store(tmp_path):
    fields, _ = version_output(tmp_path, "--db", str(tmp_path / "elsewhere.sqlite3"))
    assert fields["数据库"] == str(tmp_path / "elsewhere.sqlite3")
    assert fields["数据文件夹"] == str(tmp_path / "data" / "shebao-desk")


def test_about_dialog_from_the_status_bar(make_window, qtbot, monkeypatch, tmp_path):
    from shebao_desk.ui.about_dialog import AboutDialog
    window, ctx = make_window(monitor=False)
    shown = []
    monkeypatch.setattr(AboutDialog, "exec", lambda self: shown.append(self) or 0)
    window.statusBar().findChild(QPushButton, "about_button").click()
    (dialog,) = shown
    text = dialog.details.text()
    assert dialog.windowTitle() == "关于" and shebao_desk.__version__ in dialog.info.lines()[0]
    assert f"数据库结构版本：{schema_a_new_store_gets(tmp_path)}" in text
    assert f"数据库：{ctx.store.path}" in text and "数据文件夹：" in text


def test_qt_own_buttons_speak_chinese(qtbot):
    from PySide6.QtWidgets import QDialogButtonBox

    from shebao_desk.ui.app import make_app
    make_app()
    box = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
    qtbot.addWidget(box)
    assert sorted(b.text() for b in box.buttons()) == sorted(["确定", "取消"])
