import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shebao_desk.rules.idnumber import (
    IdProblem, InvalidIdNumber, check_digit, id_problem, make_id_number, mask_id_number, parse_id_number,
)
from shebao_desk.config.regions import load_regions

TODAY = dt.date(2026, 11, 29)
REGIONS = load_regions()


def test_known_good_number_from_the_standard():
    # The worked example of GB 11643-1999 (region 110102 Beijing Xicheng).
    info = parse_id_number("11010219840406970X", regions=REGIONS, today=TODAY)
    assert info.birth_date == dt.date(1984, 4, 6)
    assert info.sex == "2"
    assert info.region_code == "110102"


def test_shangluo_number_gives_region_birth_and_sex():
    number = make_id_number("611002", dt.date(1990, 2, 28), 123)
    info = parse_id_number(number, regions=REGIONS, today=TODAY)
    assert info.region_name == "商州区"
    assert info.birth_date == dt.date(1990, 2, 28)
    assert info.sex == "1"  # 3 is odd


def test_lower_case_x_and_full_width_digits_are_normalised():
    assert parse_id_number("11010219840406970x", regions=REGIONS, today=TODAY).number.endswith("X")
    full = "１１０１０２１９８４０４０６９７０Ｘ"
    assert parse_id_number(full, regions=REGIONS, today=TODAY).number == "11010219840406970X"


@pytest.mark.parametrize("text, problem", [
    ("", IdProblem.EMPTY),
    ("61100219900228123", IdProblem.LENGTH),
    ("6110021990022812345", IdProblem.LENGTH),
    ("61100219900228A234", IdProblem.CHARACTERS),
    ("61100219900228123Y", IdProblem.CHARACTERS),
])
def test_shape_problems(text, problem):
    with pytest.raises(InvalidIdNumber) as exc:
        parse_id_number(text, regions=REGIONS, today=TODAY)
    assert exc.value.problem is problem


def _with_check(first17):
    return first17 + check_digit(first17)


def test_unknown_shaanxi_county_is_refused():
    with pytest.raises(InvalidIdNumber) as exc:
        parse_id_number(_with_check("61109919900101123"), regions=REGIONS, today=TODAY)
    assert exc.value.problem is IdProblem.REGION
    assert "611099" in exc.value.message


def test_unknown_province_is_refused_and_historic_code_accepted():
    with pytest.raises(InvalidIdNumber) as exc:
        parse_id_number(_with_check("99010219900101123"), regions=REGIONS, today=TODAY)
    assert exc.value.problem is IdProblem.REGION
    # 612501 was Shangzhou city before Shangluo became a prefecture-level city: old IDs keep it.
    assert parse_id_number(_with_check("61250119700101123"), regions=REGIONS, today=TODAY).region_name == "商州市"


def test_every_shaanxi_county_seat_is_known():
    regions = load_regions()
    for code in ("610102", "610116", "610204", "610305", "610482", "610581", "610681",
                 "610703", "610881", "610981", "611002", "611026"):
        assert regions.is_known(code), code


@pytest.mark.parametrize("birth, problem", [
    ("19900230", IdProblem.BIRTH_DATE),
    ("19901301", IdProblem.BIRTH_DATE),
    ("20270101", IdProblem.BIRTH_FUTURE),
    ("18500101", IdProblem.BIRTH_TOO_OLD),
])
def test_birth_date_problems(birth, problem):
    with pytest.raises(InvalidIdNumber) as exc:
        parse_id_number(_with_check(f"611002{birth}123"), regions=REGIONS, today=TODAY)
    assert exc.value.problem is problem


def test_leap_day_is_a_valid_birth_date():
    assert parse_id_number(_with_check("61100220000229123"), regions=REGIONS, today=TODAY).birth_date == dt.date(2000, 2, 29)


def test_check_digit_problem_names_the_expected_digit():
    good = make_id_number("611002", dt.date(1990, 2, 28), 123)
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    message = id_problem(bad, regions=REGIONS, today=TODAY)
    assert message is not None and good[17] in message


def test_mask_keeps_only_the_ends():
    assert mask_id_number("611002199002281234") == "6110**********1234"
    assert mask_id_number("") == ""


@given(region=st.sampled_from(sorted(load_regions().codes)), days=st.integers(0, 38000), seq=st.integers(0, 999))
def test_property_generated_numbers_round_trip(region, days, seq):
    birth = dt.date(1920, 1, 1) + dt.timedelta(days=days)
    number = make_id_number(region, birth, seq)
    info = parse_id_number(number, regions=REGIONS, today=TODAY)
    assert info.birth_date == birth and info.region_code == region
    assert info.sex == ("1" if seq % 2 else "2")


@given(region=st.sampled_from(sorted(load_regions().codes)), days=st.integers(0, 38000), seq=st.integers(0, 999),
       pos=st.integers(0, 16), delta=st.integers(1, 9))
def test_property_any_single_digit_error_is_caught(region, days, seq, pos, delta):
    number = make_id_number(region, dt.date(1920, 1, 1) + dt.timedelta(days=days), seq)
    digit = (int(number[pos]) + delta) % 10
    typo = number[:pos] + str(digit) + number[pos + 1:]
    # MOD 11-2 detects every single-digit substitution; the typo may fail an earlier rule first.
    assert id_problem(typo, regions=REGIONS, today=TODAY) is not None
