"""The case window's use cases without Qt: completing a case on the day the card was collected,
the ID copy from a real SANE scanner (its `test` backend) filed with the case, and the case as shown."""

from __future__ import annotations

import datetime as dt

import pytest
from PIL import Image
from sqlalchemy import select

from shebao_desk.clock import CHINA
from shebao_desk.errors import ValidationError
from shebao_desk.models import Card, CardStatus, Case, CaseStatus
from shebao_desk.services.actor import Actor
from shebao_desk.services.case_actions import complete_on, completion_time, scan_back_and_file, scan_id_face
from shebao_desk.services.case_view import case_detail

from conftest import MONDAY, applicant, take


def test_completion_today_is_now_and_an_earlier_day_is_its_noon_in_china():
    late_evening = dt.datetime(2026, 3, 9, 15, 30, tzinfo=dt.UTC)  # 23:30 in China, still the 9th
    assert completion_time(dt.date(2026, 3, 9), late_evening) == late_evening
    assert completion_time(dt.date(2026, 3, 6), late_evening) == dt.datetime(2026, 3, 6, 12, tzinfo=CHINA)


def test_a_completed_case_puts_the_new_card_in_use_on_that_day(store, policy, clerk_and_site):
    outcome = take(store, policy, clerk_and_site, "apply", applicant(1))
    complete_on(store, Actor(*clerk_and_site), outcome.case.id, dt.date(2026, 3, 18), now=MONDAY + dt.timedelta(days=11))
    with store.read() as s:
        case = s.get(Case, outcome.case.id)
        card = s.scalar(select(Card))
        assert case.status is CaseStatus.COMPLETED and case.completed_at == dt.datetime(2026, 3, 18, 12, tzinfo=CHINA)
        assert card.status is CardStatus.NORMAL and card.issue_date == dt.date(2026, 3, 18)
    with pytest.raises(ValidationError, match="找不到这件业务"):
        complete_on(store, Actor(*clerk_and_site), "no-such-case", dt.date(2026, 3, 18))


def test_the_id_copy_is_scanned_front_then_back_and_filed_with_the_case(store, policy, clerk_and_site,
                                                                       sane_test_scanner):
    outcome = take(store, policy, clerk_and_site, "apply", applicant(2))
    front = scan_id_face(sane_test_scanner)
    assert front.device == sane_test_scanner and front.image.size[0] > 0
    name = scan_back_and_file(store, Actor(*clerk_and_site), outcome.case.id, outcome.case.number, front)
    with store.read() as s:
        shown = case_detail(s, store.path, outcome.case.id, policy.catalogue)
    assert [row.file_name for row in shown.scans] == [name] and shown.scans[0].dpi == "300 dpi"
    with Image.open(shown.scans[0].path) as page:
        assert page.format == "JPEG" and page.size == (2480, 3508)  # A4 at 300 dpi
    assert shown.accepted_by == "王经办" and shown.person.id_number == applicant(2).id_number
    assert any("申领" in line[3] for line in shown.history)
