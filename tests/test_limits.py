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
