"""Shared fixtures: a fresh migrated store per test, the shipped policy, a clerk and a site."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import uuid

import pytest
from sqlalchemy import create_engine, text

from shebao_desk.services.auth import create_clerk
from shebao_desk.config.catalogue import Mode
from shebao_desk.clock import CHINA
from shebao_desk.rules.idnumber import make_id_number
from shebao_desk.services.intake import accept_case, complete_case
from shebao_desk.services.case_request import AgentInput, ApplicantInput, CaseRequest
from shebao_desk.models import Case, Role
from shebao_desk.config.policy import load_policy
from shebao_desk.store.site_identity import ensure_site
from shebao_desk.store.database import open_store

PG = os.environ.get("SHEBAO_TEST_PG")
# The markers say what a test needs (pyproject.toml declares them); pytest_collection_modifyitems
# below skips a `postgres` or `pcsc` test when its service is missing. `-m "not slow"` is the quick run.
needs_pg = pytest.mark.postgres

# A fixed working Monday inside the calendar the project ships, so no test depends on today.
MONDAY = dt.datetime(2026, 3, 9, 9, 30, tzinfo=CHINA).astimezone(dt.UTC)


def pytest_configure(config):
    """Store keys of the whole run in a folder of its own (inherited by the CLI processes the tests
    start), never the user's keyring or config folder; keys are filed by the store's path."""
    import tempfile
    os.environ["SHEBAO_KEYS"] = tempfile.mkdtemp(prefix="shebao-test-keys-")
    os.environ["SHEBAO_KEYRING"] = "0"


def pytest_sessionfinish(session, exitstatus):
    """No bundle file any test wrote holds a readable ID number (issue #24): every file under this
    run's temporary folder that starts like a bundle is scanned (raw, base64, gzip); a leak fails the run."""
    from bundle_scan import leaks
    factory = getattr(session.config, "_tmp_path_factory", None)
    if factory is None:
        return
    try:
        found = leaks(factory.getbasetemp())
    except (OSError, ValueError):
        return
    if found:
        import sys
        for path, ids in sorted(found.items()):
            print(f"\nreadable ID numbers in bundle {path}: {len(ids)}", file=sys.stderr)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_unconfigure(config):
    import shutil
    shutil.rmtree(os.environ.get("SHEBAO_KEYS", "/nonexistent"), ignore_errors=True)


def pytest_collection_modifyitems(config, items):
    no_pg = pytest.mark.skip(reason="needs PostgreSQL (./shebao test sets SHEBAO_TEST_PG)")
    no_pcsc = pytest.mark.skip(reason="needs pcscd + vpcd (./shebao test sets SHEBAO_TEST_PCSC)")
    xcb_pass = bool(os.environ.get("SHEBAO_XCB_PASS"))  # scripts/run-tests.sh's repeat under Xvfb
    for item in items:
        if xcb_pass:
            item.add_marker(pytest.mark.slow)
        if "qtbot" in item.fixturenames and item.get_closest_marker("ui") is None:
            item.add_marker(pytest.mark.ui)  # every test that drives Qt widgets, whatever its file
        if item.get_closest_marker("postgres") and not PG:
            item.add_marker(no_pg)
        if item.get_closest_marker("pcsc") and not pcsc_available():
            item.add_marker(no_pcsc)


def pytest_addoption(parser):
    parser.addoption("--soak", type=int, default=0, help="random sync schedules to run (test_convergence)")
    parser.addoption("--soak-seed", type=int, default=1, help="first seed of the random sync schedules")
    parser.addoption("--soak-minutes", type=float, default=0.0,
                     help="start no schedule after this many minutes (0: no limit); the totals still print")


@pytest.fixture(scope="session")
def policy():
    return load_policy()


@contextlib.contextmanager
def scratch_database():
    """A database of its own on the test PostgreSQL (its URL), dropped after."""
    name = f"shebao_t_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
            conn.execute(text(f'DROP DATABASE "{name}"'))
        admin.dispose()


@pytest.fixture
def central():
    """A fresh central database for each test."""
    with scratch_database() as url:
        yield url


def on_central(url, read):
    """What ``read(connection)`` finds in the database at ``url``."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return read(conn)
    finally:
        engine.dispose()


# Every change in central's log scoped as its row now stands: a person's rows (and their audit entries)
# to the person, a clerk's to the clerk. Returns those that are not.
_MISSCOPED = """
WITH c AS (SELECT seq, table_name AS logged, scope,
                  CASE WHEN table_name = 'audit_entry' THEN "values"->>'table_name' ELSE table_name END AS t,
                  CASE WHEN table_name = 'audit_entry' THEN "values"->>'row_id' ELSE row_id END AS r
           FROM sync_change)
SELECT c.seq, c.logged, c.t, c.scope FROM c
LEFT JOIN card k ON c.t = 'card' AND k.id = c.r
LEFT JOIN "case" x ON c.t = 'case' AND x.id = c.r
LEFT JOIN loss_report l ON c.t = 'loss_report' AND l.id = c.r
LEFT JOIN card lk ON lk.id = l.card_id
LEFT JOIN case_rating g ON c.t = 'case_rating' AND g.id = c.r
LEFT JOIN "case" gx ON gx.id = g.case_id
LEFT JOIN temp_card tc ON c.t = 'temp_card' AND tc.id = c.r
LEFT JOIN attendance a ON c.t = 'attendance' AND a.id = c.r
WHERE c.t IN ('person', 'clerk', 'card', 'case', 'loss_report', 'case_rating', 'temp_card', 'attendance')
  AND c.scope IS DISTINCT FROM CASE c.t
  WHEN 'person' THEN c.r WHEN 'clerk' THEN 'c:' || c.r WHEN 'card' THEN k.person_id
  WHEN 'case' THEN x.person_id WHEN 'loss_report' THEN lk.person_id WHEN 'case_rating' THEN gx.person_id
  WHEN 'temp_card' THEN tc.person_id WHEN 'attendance' THEN 'c:' || a.clerk_id END
"""


def misscoped_changes(conn) -> list:
    return conn.execute(text(_MISSCOPED)).all()


@pytest.fixture
def store(tmp_path):
    s = open_store(tmp_path / "store.sqlite3")
    yield s
    s.close()


@pytest.fixture
def clerk_and_site(store, policy):
    with store.unit(None, "A", "test setup") as s:
        clerk = create_clerk(s, "wang", "王经办", "passw0rd!", Role.CLERK)
        site = ensure_site(s, policy.site, "A")
    return clerk, site


def applicant(seq: int = 1, birth=dt.date(1980, 5, 17), region="611002", name="李秀英") -> ApplicantInput:
    return ApplicantInput(id_number=make_id_number(region, birth, seq), name=name, phone="13800000000",
                          address="商洛市商州区北新街 1 号")


def take(store, policy, clerk_and_site, business, who, *, mode=Mode.SELF, materials=None, now=MONDAY, **kw):
    """Accept one business in its own unit of work, presenting every material unless told otherwise."""
    clerk, site = clerk_and_site
    if materials is None:
        materials = set(policy.catalogue[business].required(mode))
    listed = policy.catalogue[business].reasons
    if policy.catalogue[business].reasons_only and "reason" not in kw:
        kw["reason"] = listed[0].text  # 注销 takes a reason from its list (死亡 …)
    if mode is not Mode.SELF and "agent" not in kw:
        kw["agent"] = AgentInput("张代办", make_id_number("611021", dt.date(1975, 1, 2), 33), "子女")
    with store.unit(clerk.id, site.workstation_id, f"test {business}") as s:
        outcome = accept_case(s, CaseRequest(business, mode, who, set(materials), **kw),
                              s.merge(clerk), s.merge(site), policy, now)
        return outcome


def collected(store, policy, clerk_and_site, who, **kw):
    """An applied-for card, collected ten days later: the person holds a normal card."""
    first = take(store, policy, clerk_and_site, "apply", who, **kw)
    with store.unit(clerk_and_site[0].id, clerk_and_site[1].workstation_id, "collect") as s:
        complete_case(s, s.get(Case, first.case.id), s.merge(clerk_and_site[0]), MONDAY + dt.timedelta(days=10))
    return first


def pcsc_available() -> bool:
    return bool(os.environ.get("SHEBAO_TEST_PCSC"))


# --- the GUI -------------------------------------------------------------------------

@pytest.fixture
def shown_errors(monkeypatch):
    """What the one error-display place would have shown, instead of a modal box."""
    import shebao_desk.ui.errors as errors
    seen = []
    monkeypatch.setattr(errors, "_sink", lambda title, text: seen.append(text))
    return seen


@pytest.fixture(autouse=True)
def confirmations(monkeypatch):
    """Questions the clerk would be asked (title, text); answered yes unless a test sets ``answer``."""

    class Asked(list):
        answer = True

    asked = Asked()
    try:
        import shebao_desk.ui.confirm as confirm
    except ImportError:  # a run where Qt cannot load (test_intake_service's): no one to ask
        return asked

    def answer(title, text):
        asked.append((title, text))
        return asked.answer

    monkeypatch.setattr(confirm, "_answer", answer)
    return asked


@pytest.fixture
def make_window(qtbot, tmp_path, shown_errors):
    """Opens the main window on a store in tmp_path, signed in as a supervisor (as after login)."""
    from shebao_desk.services.auth import create_clerk as _create
    from shebao_desk.models import Role as _Role
    from shebao_desk.ui.app import make_app, open_context
    from shebao_desk.ui.main_window import MainWindow
    from sqlalchemy import select as _select
    from shebao_desk.models import Clerk as _Clerk
    made = []

    def make(*, training=False, db=None, monitor=None):
        make_app()
        ctx = open_context(db or tmp_path / "ui.sqlite3", training, "A",
                           monitor=pcsc_available() if monitor is None else monitor)
        ctx.auto_preview = False
        with ctx.store.unit(None, "A", "test clerk") as s:
            clerk = s.scalar(_select(_Clerk).where(_Clerk.username == "zhang")) or \
                _create(s, "zhang", "张主管", "passw0rd!", _Role.SUPERVISOR)
        ctx.clerk = clerk
        window = MainWindow(ctx)
        qtbot.addWidget(window)
        window.show()
        made.append((window, ctx))
        return window, ctx

    yield make
    for window, ctx in made:
        window.close()
        ctx.shutdown()
        ctx.store.close()


def settle(qtbot, ctx, timeout=20_000):
    """Wait until every worker of ``ctx`` has delivered all it was given (the GUI thread has run each
    job's callback), then let Qt dispatch what is still posted (layouts, queued signals). A test that
    asserts that nothing was saved asserts it after the operation, not after a guessed delay: a job
    submitted by the action under test keeps the worker busy until its result is in."""
    from PySide6.QtCore import QCoreApplication
    from shebao_desk.ui.worker import Worker
    workers = [ctx.db, ctx.devices, ctx.printer, ctx.store_check]
    if ctx.cards is not None:
        workers += [w for w in vars(ctx.cards).values() if isinstance(w, Worker)]
        workers += list(getattr(ctx.cards, "_workers", {}).values())
    qtbot.waitUntil(lambda: all(w.pending == 0 for w in workers), timeout=timeout)
    for _ in range(3):  # a dispatched event (a layout request) may post another
        QCoreApplication.sendPostedEvents()
        QCoreApplication.processEvents()


# --- virtual cards through pcscd + vpcd -----------------------------------------------

def wait_for(predicate, timeout=10.0, what="condition"):
    import time
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


_probe_context = None


def reader_shows(reader: str, present: bool) -> bool:
    """What pcscd itself reports for ``reader`` now (one context for all the polling:
    pcscd allows a client a limited number)."""
    global _probe_context
    from shebao_desk.devices.errors import DeviceError
    from shebao_desk.devices.pcsc import PcscContext
    if _probe_context is None:
        _probe_context = PcscContext()
    try:
        _, states, _ = _probe_context.states(None, 0)
    except DeviceError:
        return False
    return any(s.name == reader and s.present == present for s in states)


@pytest.fixture
def insert_card():
    """``insert_card(holder, port)`` puts a virtual card in a vpcd reader once pcscd has seen the
    reader empty (a card pulled just before may still be reported for a moment, and a new one
    inserted then meets a reader that cannot talk to it); every card is pulled at the end."""
    from shebao_desk.devices.simulators.virtual_card import VirtualCard
    from shebao_desk.devices.simulators.vpcd import DEFAULT_PORT, VpcdSlot, reader_name
    made = []

    def insert(holder, port=DEFAULT_PORT, wait_present=True):
        reader = reader_name(port)
        wait_for(lambda: reader_shows(reader, False), what=f"{reader} empty before inserting")
        slot = VpcdSlot(VirtualCard(holder), port=port)
        slot.insert()
        made.append(slot)
        if wait_present:
            wait_for(lambda: reader_shows(reader, True), what=f"card in {reader}")
        return slot

    yield insert
    for slot in made:
        slot.remove()
    for slot in made:
        wait_for(lambda s=slot: reader_shows(reader_name(s.port), False), what="readers empty after the test")


# --- the desk's devices: a private CUPS with a cups-pdf queue, SANE's test scanner ----------

@pytest.fixture(scope="session")
def cups_queue():
    import shutil as _shutil
    import tempfile as _tempfile
    from pathlib import Path as _Path

    from desk_services import start_cups, stop_cups
    # Not under pytest's 0700 tmp tree: cupsd's filters run as user lp and must reach the spool.
    root = _Path(_tempfile.mkdtemp(prefix="shebao-cups-"))
    queue = start_cups(root)
    before = queue.spooled()
    yield queue
    stop_cups(queue, queue.spooled() - before)
    _shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def sane_test_scanner(tmp_path_factory):
    """SANE's own ``test`` backend, enabled only for this session through SANE_CONFIG_DIR."""
    import shutil as _shutil
    if not _shutil.which("scanimage"):
        pytest.skip("sane-utils not installed (scripts/install-debian-deps.sh test)")
    config = tmp_path_factory.mktemp("sane")
    (config / "dll.conf").write_text("test\n")
    old = os.environ.get("SANE_CONFIG_DIR")
    os.environ["SANE_CONFIG_DIR"] = str(config)  # no trailing colon: the system's backends stay out
    yield "test:0"
    if old is None:
        os.environ.pop("SANE_CONFIG_DIR", None)
    else:
        os.environ["SANE_CONFIG_DIR"] = old


def a_photo() -> bytes:
    """A white 358×441 JPEG, as an imported and normalised photo would be (申领/补卡/换卡 need one)."""
    import io

    from PIL import Image
    out = io.BytesIO()
    Image.new("RGB", (358, 441), (255, 255, 255)).save(out, "JPEG", dpi=(350, 350))
    return out.getvalue()


def portrait(path, shade: int = 120) -> None:
    """What a photo station saves: a portrait on a white background, detailed enough to make a
    standard-size JPEG (14–40 KB once normalised)."""
    from PIL import Image
    img = Image.new("RGB", (700, 900), (255, 255, 255))
    noise = Image.effect_noise((360, 520), 60).convert("RGB")
    img.paste(Image.blend(noise, Image.new("RGB", noise.size, (shade, 90, 70)), 0.5), (170, 260))
    img.save(path, "JPEG", quality=92)


def fill(form, **fields):
    """Type into the intake form's fields, found by their object names."""
    from PySide6.QtWidgets import QLineEdit
    for name, value in fields.items():
        field = form.findChild(QLineEdit, name)
        assert field is not None, name
        field.setText(value)


def choose(combo, data):
    """Pick the combo box entry whose data is ``data`` (which must be there)."""
    index = combo.findData(data)
    assert index >= 0, data
    combo.setCurrentIndex(index)
