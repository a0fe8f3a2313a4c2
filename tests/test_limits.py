"""One table of field limits, the central schema's: refused at input with the field named."""

from __future__ import annotations

import pytest
from sqlalchemy import String

from shebao_desk.errors import ValidationError
from shebao_desk.services.case_request import AgentInput
from shebao_desk.models.limits import column_limit, max_length, text_problem, value_problems
from shebao_desk.models import Base, Person

from conftest import applicant, take


@pytest.mark.parametrize("name, word", [("长" * 200, "姓名不能超过 50 个字"), ("李\x00四", "空字符"),
                                        ("李\x1b四", "控制字符"), ("\u202e英秀李", "看不见"), ("李\n四", "控制字符")])
def test_bad_names_are_refused_at_input_and_nothing_is_written(store, policy, clerk_and_site, name, word):
    with pytest.raises(ValidationError) as exc:
        take(store, policy, clerk_and_site, "apply", applicant(1, name=name))
    assert word in exc.value.message
    with store.read() as s:
        assert s.query(Person).count() == 0


def test_agent_fields_and_info_changes_are_checked_too(store, policy, clerk_and_site):
    from shebao_desk.config.catalogue import Mode
    from shebao_desk.rules.idnumber import make_id_number
    import datetime as dt
    agent = AgentInput("张" * 51, make_id_number("611021", dt.date(1975, 1, 2), 33), "子女")
    with pytest.raises(ValidationError) as exc:
        take(store, policy, clerk_and_site, "apply", applicant(2), mode=Mode.AGENT, agent=agent)
    assert "代办人姓名" in exc.value.message
    take(store, policy, clerk_and_site, "apply", applicant(3))
    with pytest.raises(ValidationError) as exc:
        take(store, policy, clerk_and_site, "info_change", applicant(3), changes={"address": "路" * 201})
    assert "变更后的联系地址" in exc.value.message


def test_the_limits_are_the_schema_the_central_database_is_built_from():
    person = Base.metadata.tables["person"]
    assert column_limit("person", "name") == (person.c.name.type.length, False) == (50, False)
    assert max_length("person", "phone") == 20 and max_length("case", "reason") >= 200
    for table in Base.metadata.tables.values():  # every bounded text column has a limit
        for col in table.columns:
            if isinstance(col.type, String) and col.type.length:
                assert column_limit(table.name, col.key)[0] == col.type.length


def test_multiline_text_keeps_line_breaks_but_not_other_controls():
    assert text_problem("第一行\n第二行", 2000, multiline=True) is None
    assert text_problem("第一行\x07", 2000, multiline=True)
    assert value_problems("person", {"name": "王" * 51, "phone": "1" * 20}) == ["姓名不能超过 50 个字（现为 51 个）"]


def test_the_form_takes_its_limits_from_the_same_table_and_never_cuts(make_window):
    """A name or address longer than the store takes stays as typed and is refused with its limit (issue 26):
    a silently cut name would be a different name."""
    window, _ = make_window(monitor=False)
    form = window.show_page("intake").form
    form.applicant.name.setText("王" * 51)
    assert form.applicant.name.text() == "王" * 51
    assert form.applicant.length_hint.text() == "姓名不能超过 50 个字（现为 51 个）"
    form.applicant.address.setText("路" * 201)
    assert "联系地址不能超过 200 个字（现为 201 个）" in form.applicant.length_hint.text()


# --- invisible and format characters (issue #24: the probe's list passed) -------------------

@pytest.mark.parametrize("sneaky", ["\u200b", "\u200d", "\ufeff", "\u2028", "\u2029", "\U000e0041", "\ue000", "\ufe0f",
                                    "\U000e0100", "\u00ad", "\u2060"])
def test_invisible_characters_in_a_name_or_address_are_refused(sneaky):
    from shebao_desk.models.limits import value_problems
    for column in ("name", "address"):
        problems = value_problems("person", {column: f"张{sneaky}三"})
        assert problems and f"U+{ord(sneaky):04X}" in problems[0], (column, sneaky, problems)


def test_combining_marks_on_latin_letters_are_refused_precomposed_ones_are_not():
    from shebao_desk.models.limits import text_problem
    assert "组合符号" in text_problem("Zha\u0301ng", 50)
    assert "组合符号" in text_problem("\u0301张三", 50)
    assert text_problem("Zh\u00e1ng", 50) is None  # á precomposed (NFC)


def test_what_gb18030_names_need_passes():
    from shebao_desk.models.limits import text_problem
    for name in ("阿卜杜热合曼·买买提依明·艾合买提江", "买买提•艾力", "玛丽亚・安娜", "𠮷野家", "㐀㒸", "王　芳"):
        assert text_problem(name, 50) is None, name


def test_the_fast_pattern_misses_no_format_separator_or_private_character():
    """Every Cf, Zl, Zp and Co code point (by this Python's Unicode tables) is caught by the one-search
    pattern that lets ordinary text through without a character-by-character look."""
    import sys
    import unicodedata

    from shebao_desk.models.limits import _suspect, text_problem
    missed = [f"U+{c:04X}" for c in range(sys.maxunicode + 1)
              if unicodedata.category(chr(c)) in ("Cf", "Zl", "Zp", "Co", "Cc") and not _suspect(chr(c))]
    assert missed == []
    assert all(text_problem(f"a{chr(c)}b", 50) for c in (0x200B, 0x2028, 0xE0001, 0xF0000, 0x10FFFD))


def test_the_split_search_refuses_exactly_the_suspect_ranges():
    """The fast check searches the BMP's ranges and those beyond it apart (#29): together they must catch
    every code point, and only those, that one class of all the ranges catches, alone or after other text."""
    import re
    import sys

    from shebao_desk.models.limits import _SUSPECT_ASTRAL, _SUSPECT_BMP, _suspect
    one = re.compile(f"[{_SUSPECT_BMP}{_SUSPECT_ASTRAL}]")
    differ = [f"U+{c:04X}" for c in range(sys.maxunicode + 1) if _suspect(chr(c)) != (one.search(chr(c)) is not None)]
    assert differ == []
    assert _suspect("陕西 \U00020000 张" + chr(0xE0001)) and _suspect("张\u200b三")
    assert not _suspect("陕西 \U00020000 张三 SZ01A-20260309-0001")  # a CJK Extension B character is not suspect


@pytest.mark.parametrize("number", ["../../../../outside/x", "SZ01A-20260309-0001/../x", "x", "", "SZ01A-2026-0001"])
def test_a_case_number_that_could_become_a_path_is_refused(number):
    from shebao_desk.models.limits import value_problems
    assert value_problems("case", {"number": number})
    assert value_problems("case", {"number": "SZ01A-20260309-0001"}) == []


def test_the_path_joiner_stays_in_its_folder(tmp_path):
    from shebao_desk.errors import ValidationError
    from shebao_desk.services.case_files import case_folder, inside
    assert case_folder(tmp_path / "s.sqlite3", "SZ01A-20260309-0001") == tmp_path / "s-documents" / "SZ01A-20260309-0001"
    for bad in ("../../../../outside/x", "..", "a/b", "a\\b", "C:x", "\u202ex", ""):
        with pytest.raises(ValidationError, match="不合规"):
            inside(tmp_path, bad)
    (tmp_path / "link").symlink_to("/")
    with pytest.raises(ValidationError, match="之外"):
        inside(tmp_path, "link", "etc")
