"""The Today page's lists come from SQL: split by the promised date, one page each, counted by the database."""

import datetime as dt

from sqlalchemy import text

from shebao_desk.services.queries import open_case_counts, open_cases, todays_cases

from conftest import MONDAY, applicant, take


def test_open_and_overdue_are_split_paged_and_counted_in_sql(store, policy, clerk_and_site):
    numbers = [take(store, policy, clerk_and_site, "apply", applicant(60 + i)).case.number for i in range(3)]
    with store.read() as s:
        promised = {c.number: c.promised_date for c in open_cases(s, MONDAY)[0]}
        assert set(promised) == set(numbers) and all(promised.values())
        day_after = dt.datetime.combine(max(promised.values()) + dt.timedelta(days=1), dt.time(3), dt.UTC)
        assert open_case_counts(s, MONDAY) == (3, 0)
        assert open_case_counts(s, day_after) == (0, 3)
        in_time, overdue = open_cases(s, day_after, limit=2)
        assert in_time == [] and len(overdue) == 2
        assert [c.number for c in open_cases(s, day_after, limit=2, offset=2)[1]] == \
            [c.number for c in open_cases(s, day_after)[1]][2:]
        assert {c.number for c in todays_cases(s, MONDAY)} == set(numbers)
        assert all(c.person_id_number and c.person_name for c in todays_cases(s, MONDAY))


def test_the_open_lists_are_answered_from_an_index(store):
    with store.read() as s:
        plan = " ".join(str(r[-1]) for r in s.execute(text(
            "EXPLAIN QUERY PLAN SELECT id FROM \"case\" WHERE status = 'accepted' AND promised_date < '2026-03-09' "
            "ORDER BY promised_date, accepted_at LIMIT 200")))
    assert "ix_case_open" in plan and "TEMP B-TREE" not in plan
