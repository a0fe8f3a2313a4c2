"""The report and the search at a million cases depend on how SQLite answers them, which no timing in a
test can show on a small store: the plans are checked instead (the figures are in ``./shebao bench``)."""

from sqlalchemy import event, text

from shebao_desk.services.queries import search
from shebao_desk.services.statistics import by_business, by_clerk, overall, period_of, report_sections

from conftest import MONDAY, applicant, take


def _statements(store, run):
    """The SQL statements (with their parameters) that ``run(session)`` sends."""
    sent = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        sent.append((statement, parameters))
    event.listen(store.engine, "before_cursor_execute", seen)
    try:
        with store.read() as s:
            run(s)
    finally:
        event.remove(store.engine, "before_cursor_execute", seen)
    return sent


def _plan(store, statement, parameters):
    with store.engine.connect() as conn:
        return " ".join(str(r[-1]) for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters))


def test_the_report_reads_a_period_from_covering_indexes_in_two_scans(store, policy, clerk_and_site):
    take(store, policy, clerk_and_site, "apply", applicant(1))
    period = period_of("month", MONDAY.date())
    sent = [(q, p) for q, p in _statements(store, lambda s: report_sections(s, period, policy)) if "GROUP BY" in q]
    plans = [_plan(store, q, p) for q, p in sent]
    assert len(plans) == 2, plans  # by business and clerk at once, not once per table
    assert "COVERING INDEX ix_case_accepted_report" in plans[0]
    assert "COVERING INDEX ix_case_completed_report" in plans[1]


def test_the_report_adds_up_as_the_single_tables_do(store, policy, clerk_and_site):
    clerk, _ = clerk_and_site
    for i in range(3):
        take(store, policy, clerk_and_site, "apply", applicant(10 + i))
    period = period_of("month", MONDAY.date())
    names = {b.code: b.name for b in policy.catalogue}
    with store.read() as s:
        (_, business_rows), (_, clerk_rows) = report_sections(s, period, policy)
        assert business_rows == [*by_business(s, period, names), overall(s, period)]
        assert clerk_rows == by_clerk(s, period)
        accepted = s.execute(text('SELECT business, count(*) FROM "case" WHERE status != \'returned\' '
                                  "GROUP BY business")).all()
    assert {r.key: r.accepted for r in business_rows[:-1]} == dict(accepted)
    assert business_rows[-1].accepted == 3 and [r.accepted for r in clerk_rows] == [3]
    assert clerk_rows[0].key == clerk.id


def test_a_name_search_reads_the_name_index_in_order_and_stops_at_the_limit(store, policy, clerk_and_site):
    take(store, policy, clerk_and_site, "apply", applicant(1, name="王强"))
    sent = _statements(store, lambda s: search(s, "王"))
    by_name = [(q, p) for q, p in sent if "person.name >=" in q]
    assert by_name, sent
    plan = _plan(store, *by_name[0])
    assert "ix_person_name" in plan and "TEMP B-TREE" not in plan, plan


def test_search_finds_by_name_prefix_card_number_and_case_number_in_name_order(store, policy, clerk_and_site):
    wang = take(store, policy, clerk_and_site, "apply", applicant(1, name="王强")).case
    take(store, policy, clerk_and_site, "apply", applicant(2, name="王芳"))
    li = take(store, policy, clerk_and_site, "apply", applicant(3, name="李秀英")).case
    with store.unit(None, "A", "test: a numbered card") as s:
        s.execute(text("UPDATE card SET card_number = 'S12345678' WHERE person_id = :p"), {"p": li.person_id})
    with store.read() as s:
        assert [p.name for p in search(s, "王").people] == ["王强", "王芳"]  # code-point order, as SQLite's
        assert [p.name for p in search(s, "S12345678").people] == ["李秀英"]
        assert [p.name for p in search(s, "李").people] == ["李秀英"]
        found = search(s, wang.number)
        assert [c.number for c in found.cases] == [wang.number]
        assert {c.number for c in search(s, "王").cases} == {wang.number, *[c.number for c in search(s, "王芳").cases]}


def test_a_new_case_number_is_found_on_the_number_index_not_by_reading_every_case(store, policy, clerk_and_site):
    import datetime as dt

    from shebao_desk.services.intake import next_case_number

    first = take(store, policy, clerk_and_site, "apply", applicant(1)).case
    _, site = clerk_and_site
    day = dt.datetime.strptime(first.number.split("-")[1], "%Y%m%d").date()
    numbers = []
    sent = _statements(store, lambda s: numbers.append(next_case_number(s, s.merge(site), day)))
    assert numbers == [first.number[:-4] + "0002"]  # the day's numbering goes on after the case taken
    by_number = [(q, p) for q, p in sent if 'FROM "case"' in q and "number" in q]
    assert by_number, sent
    plan = _plan(store, *by_number[0])
    assert "SEARCH" in plan and "INDEX" in plan and "SCAN" not in plan, plan  # LIKE read all ~1M numbers


def test_the_search_pages_rows_take_the_same_queries_for_two_people_or_five(store, policy, clerk_and_site):
    """The page names each card's state (正常, 临时挂失中) from its losses: loaded with the cards, not
    one query per card (the page of a surname search at 100k cases: 95-114 ms with them, 39-42 without)."""
    from test_sync import issued

    from shebao_desk.services.queries import card_shown

    def page_queries(surname):
        def rows(s):
            for person in search(s, surname).people:
                card_shown(person.cards, MONDAY)
        return len(_statements(store, rows))

    for i in range(2):
        issued(store, policy, clerk_and_site, applicant(20 + i, name=f"赵{i}"))
    for i in range(5):
        issued(store, policy, clerk_and_site, applicant(30 + i, name=f"钱{i}"))
    assert page_queries("赵") == page_queries("钱")
