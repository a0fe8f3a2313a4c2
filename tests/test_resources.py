"""Data files under resources/: shipped ones load; broken ones name the file and the problem."""

import shutil
import subprocess
import sys

import pytest

from shebao_desk.config.catalogue import BUSINESS_CODES, Mode, load_catalogue, parse_catalogue
from shebao_desk.errors import ResourceError
from shebao_desk.config.resources import resources_dir
from shebao_desk.config.site_config import load_site_config, parse_site_config


def test_catalogue_has_every_business_with_materials_per_mode():
    cat = load_catalogue()
    assert [b.code for b in cat] == list(BUSINESS_CODES)
    apply = cat["apply"]
    assert apply.days == 7
    assert apply.required(Mode.SELF) == ("id_original", "id_copy", "photo")
    assert "agent_id_original" in apply.required(Mode.AGENT)
    assert "household_register" in apply.required(Mode.GUARDIAN)
    assert cat["reissue"].fee == 20
    assert cat.material_name("photo").startswith("申请人标准电子照片")


def test_missing_lists_what_was_not_presented_in_order():
    apply = load_catalogue()["apply"]
    assert apply.missing(Mode.AGENT, {"photo", "id_copy"}) == ["id_original", "agent_id_original", "agent_id_copy"]


def test_optional_materials_are_never_missing():
    cancel = load_catalogue()["cancel"]
    assert cancel.missing(Mode.AGENT, {"death_proof", "relative_id_original"}) == []


def _broken_copy(tmp_path, name, old, new):
    text = (resources_dir() / name).read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / name
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize("old, new, fragment", [
    ('"id_copy", "photo"]', '"id_copy", "photograph"]', "photograph"),
    ('code = "apply"', 'code = "fly"', "fly"),
    ("days = 7", "days = -7", "负数"),
    ('modes = ["self", "agent", "guardian"]', 'modes = ["self", "robot"]', "办理方式"),
    ('code = "cancel"', 'code = "apply"', "重复"),
])
def test_broken_catalogue_is_refused(tmp_path, old, new, fragment):
    path = _broken_copy(tmp_path, "businesses.toml", old, new)
    with pytest.raises(ResourceError) as exc:
        parse_catalogue(path)
    assert "businesses.toml" in exc.value.message and fragment in exc.value.message


@pytest.mark.parametrize("old, new, fragment", [
    ('initial_pin = "666666"', 'initial_pin = "6666"', "initial_pin"),
    ('closes = "18:00"', 'closes = "6pm"', "site.closes"),
    ("temp_loss_days = 7", 'temp_loss_days = "seven"', "temp_loss_days"),
    ('window_code = "SZ01"', 'window_code = "商州"', "window_code"),
])
def test_broken_site_file_is_refused(tmp_path, old, new, fragment):
    path = _broken_copy(tmp_path, "site.toml", old, new)
    with pytest.raises(ResourceError) as exc:
        parse_site_config(path)
    assert fragment in exc.value.message


def test_shipped_site_config_loads():
    cfg = load_site_config()
    assert cfg.initial_pin == "666666" and cfg.temp_loss_days == 7 and cfg.bank_outlets


@pytest.mark.slow  # runs the program in a subprocess
def test_broken_data_file_stops_the_start_with_its_name(tmp_path):
    copy = tmp_path / "resources"
    shutil.copytree(resources_dir(), copy)
    (copy / "businesses.toml").write_text("[materials\n", encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "shebao_desk", "--db", str(tmp_path / "x.sqlite3"), "db", "check"],
                            env={"SHEBAO_RESOURCES": str(copy), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode != 0
    assert "businesses.toml" in result.stderr and "格式错误" in result.stderr
    assert not (tmp_path / "x.sqlite3").exists()  # nothing was touched


@pytest.mark.parametrize("old, new, fragment", [
    ("temp_loss_days = 7", "temp_loss_dayz = 7", "card.temp_loss_days"),  # a misspelt key: the real one is missing
    ('level = "county"', 'level = "province"', "site.level"),
    ("readers = 2", "readers = 0", "minimums.readers"),
    ("sign = true", "sign = 1", "profile.sign"),
])
def test_site_file_errors_name_the_file_and_the_field_in_chinese(tmp_path, old, new, fragment):
    path = _broken_copy(tmp_path, "site.toml", old, new)
    with pytest.raises(ResourceError) as exc:
        parse_site_config(path)
    assert "site.toml" in exc.value.message and fragment in exc.value.message
    assert "Input should" not in exc.value.message  # pydantic's English never reaches the clerk


def test_guide_errors_are_declarative_and_chinese(tmp_path):
    from shebao_desk.config.service_guide import parse_guide
    path = tmp_path / "service_guide.toml"
    path.write_text('title = "指南"\ntopics = []\nguide = []\nflow = []\n', encoding="utf-8")
    with pytest.raises(ResourceError) as exc:
        parse_guide(path)
    assert "topics" in exc.value.message and "至少要有 1 项" in exc.value.message


@pytest.mark.slow  # runs the program in a subprocess
def test_schemas_are_exported_for_each_data_file(tmp_path):
    import json
    result = subprocess.run([sys.executable, "-m", "shebao_desk", "resources", "schema", "--out", str(tmp_path)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    schema = json.loads((tmp_path / "site.toml.schema.json").read_text(encoding="utf-8"))
    assert set(schema["required"]) >= {"site", "card", "security", "photo"}
    assert schema["$defs"]["SiteSection"]["properties"]["level"]["enum"] == ["city", "county"]
    assert (tmp_path / "service_guide.toml.schema.json").exists() and (tmp_path / "businesses.toml.schema.json").exists()
