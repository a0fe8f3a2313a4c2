"""Migrations: the chain as written, stores of every earlier landing brought to head with every row,
downgrades and back, each upgrade in one transaction (a kill mid-migration leaves the previous
revision), and the stores older versions left half-built repaired or refused with the way out.

The store fixtures were made by the code of each landing (tests/fixtures/stores/make_stores.py).
"""

from __future__ import annotations

import ast
import contextlib
import gzip
import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from shebao_desk.store import schema as store_schema
from shebao_desk.errors import StoreError
from shebao_desk.store.keystore import DB_KEY, Keystore
from shebao_desk.store.database import connect_file, file_key, open_store

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "stores"
VERSIONS = store_schema.MIGRATIONS / "versions"
LANDINGS = {"306b4ca": "0003", "a32a1b0": "0016"}  # commit -> the head of its migrations
SEEDED_PEOPLE, SEEDED_CASES = 12, 25  # what fill_store.py made in every landing's store


def fixture_store(name: str, tmp_path: Path) -> Path:
    """A copy of a fixture store, its key (if encrypted) filed in the keystore for the copy's path."""
    target = tmp_path / f"{name}.sqlite3"
    with gzip.open(FIXTURES / f"{name}.sqlite3.gz") as src, open(target, "wb") as out:
        shutil.copyfileobj(src, out)
    os.chmod(target, 0o600)
    key = FIXTURES / f"{name}.key"
    if key.exists():
        Keystore(target).put(DB_KEY, key.read_text().strip())
    return target


def sql(path: Path, query: str) -> list[tuple]:
    with contextlib.closing(connect_file(path)) as conn:
        return conn.execute(query).fetchall()


def rows(path: Path) -> dict[str, dict[tuple, dict[str, object]]]:
    """Every row of every table, by primary key, as SQLite holds it (no type conversion)."""
    out: dict[str, dict[tuple, dict[str, object]]] = {}
    with contextlib.closing(connect_file(path)) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' "
                                             "AND name NOT LIKE 'sqlite_%' AND name != 'alembic_version'")]
        for table in tables:
            info = conn.execute(f'PRAGMA table_info("{table}")').fetchall()
            columns = [c[1] for c in info]
            key = [c[1] for c in sorted(info, key=lambda c: c[5]) if c[5]] or ["rowid"]
            names = ", ".join('"' + c + '"' for c in key + columns)
            cursor = conn.execute(f'SELECT {names} FROM "{table}"')
            out[table] = {r[:len(key)]: dict(zip(columns, r[len(key):], strict=True)) for r in cursor}
    return out


def assert_kept(before: dict, after: dict) -> None:
    """Every row of ``before`` is in ``after`` with the same value in every column both have."""
    for table, old in before.items():
        if table not in after:
            continue
        assert set(after[table]) == set(old), f"{table}: rows lost or added"
        for pk, values in old.items():
            now = after[table][pk]
            shared = {c: v for c, v in values.items() if c in now}
            assert {c: now[c] for c in shared} == shared, f"{table} {pk}: values changed"


def revision(path: Path) -> str | None:
    return store_schema.stored_revision(path, file_key(path))


def cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state"), "XDG_DATA_HOME": str(tmp_path / "data")}
    return subprocess.run([sys.executable, "-m", "shebao_desk", *args], capture_output=True, text=True, env=env,
                          timeout=120, check=False)


def kill_at(tmp_path: Path, step: int, db: Path) -> subprocess.CompletedProcess:
    """``db upgrade`` of ``db``, SIGKILLed right before its ``step``-th writing statement."""
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state"), "XDG_DATA_HOME": str(tmp_path / "data")}
    if not db.exists():  # `db upgrade` opens only a store that exists (#24): an empty file is a new one
        db.touch(mode=0o600)
    return subprocess.run([sys.executable, str(FIXTURES / "kill_at_step.py"), str(step), "--db", str(db), "db",
                           "upgrade"], capture_output=True, text=True, env=env, timeout=120, check=False)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- the chain as written ------------------------------------------------------------------------------------


def migration_files() -> list[Path]:
    files = sorted(VERSIONS.glob("*.py"))
    assert len(files) >= 11
    return files


@pytest.mark.parametrize("path", migration_files(), ids=lambda p: p.stem)
def test_the_header_names_the_revision_it_revises(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    values = {t.id: ast.literal_eval(node.value) for node in tree.body if isinstance(node, ast.Assign)
              for t in node.targets if isinstance(t, ast.Name) and t.id in ("revision", "down_revision")}
    header = {line.split(":", 1)[0]: line.split(":", 1)[1].strip()
              for line in (ast.get_docstring(tree) or "").splitlines() if ":" in line}
    assert header["Revision ID"] == values["revision"]
    assert header["Revises"] == (values["down_revision"] or "")


@pytest.mark.parametrize("path", [*migration_files(), store_schema.MIGRATIONS / "env.py"], ids=lambda p: p.stem)
def test_migrations_import_no_application_code(path):
    """A migration's result must not change when the program changes: it carries what it needs."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imported = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names] + \
               [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    assert [m for m in imported if m.split(".")[0] == "shebao_desk"] == []


def test_the_chain_is_linear_with_one_head():
    script = ScriptDirectory.from_config(store_schema.alembic_config())
    revisions = list(script.walk_revisions())
    assert len(script.get_heads()) == 1
    assert len(revisions) == len(migration_files())
    downs = [r.down_revision for r in revisions]
    assert all(d is None or isinstance(d, str) for d in downs), "a merge revision"
    assert len(set(downs)) == len(downs), "two revisions revise the same one (a branch)"
    assert downs.count(None) == 1
    assert [r.revision for r in revisions][-1] == "0001"


# --- stores of every earlier landing --------------------------------------------------------------------------


@pytest.mark.parametrize("landing", LANDINGS)
def test_a_store_of_every_landing_reaches_head_with_every_row(landing, tmp_path):
    db = fixture_store(landing, tmp_path)
    assert revision(db) == LANDINGS[landing]
    before = rows(db)
    assert (len(before["person"]), len(before["case"])) == (SEEDED_PEOPLE, SEEDED_CASES)
    assert all(before[t] for t in ("card", "loss_report", "audit_entry", "attendance", "inquiry", "outlet",
                                   "supervision_visit", "sync_change", "sync_peer", "sync_conflict"))
    open_store(db).close()
    assert revision(db) == store_schema.head_revision()
    after = rows(db)
    assert set(before) <= set(after)
    assert_kept(before, after)
    assert len(after["audit_seal"]) == len(after["audit_entry"])  # 0014 sealed 306b4ca's trail
    done = cli(tmp_path, "--db", str(db), "db", "check")
    assert done.returncode == 0, done.stdout + done.stderr


def test_one_step_down_and_back_keeps_every_row(tmp_path):
    db = fixture_store("a32a1b0", tmp_path)
    key = file_key(db)
    open_store(db).close()
    before = rows(db)
    store_schema.downgrade(db, key, "-1")
    assert revision(db) != store_schema.head_revision()
    assert_kept(before, rows(db))
    store_schema.upgrade(db, key)
    assert revision(db) == store_schema.head_revision()
    assert rows(db) == before
    done = cli(tmp_path, "--db", str(db), "db", "check")
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_revision_down_to_the_first_landing_and_back_up_keeps_the_rows(tmp_path):
    """Down one revision at a time to 306b4ca's head, then up again: at every step the rows of every table
    still there keep the values of every column still there. A column or table a downgrade removes takes
    its values with it (that is what a downgrade is); what 0003 had comes back whole."""
    db = fixture_store("a32a1b0", tmp_path)
    key = file_key(db)
    chain = [r.revision for r in ScriptDirectory.from_config(store_schema.alembic_config()).walk_revisions()]
    store_schema.upgrade(db, key, chain[0])  # the landing's store at today's head first
    start = rows(db)
    bottom = chain.index(LANDINGS["306b4ca"])
    for down_to in chain[1:bottom + 1]:
        store_schema.downgrade(db, key, down_to)
        assert revision(db) == down_to
        assert_kept(start, rows(db))
    at_bottom = rows(db)
    assert set(at_bottom) < set(start)
    for up_to in reversed(chain[:bottom]):
        store_schema.upgrade(db, key, up_to)
        assert revision(db) == up_to
        assert_kept(at_bottom, rows(db))
    end = rows(db)
    for table, old in at_bottom.items():
        assert {pk: {c: v for c, v in r.items() if c in old[pk]} for pk, r in end[table].items()} == old


def test_an_empty_store_walks_to_base_and_back_to_the_models(tmp_path):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from shebao_desk.models import Base
    db = tmp_path / "empty.sqlite3"
    open_store(db).close()
    key = file_key(db)
    store_schema.downgrade(db, key, "base")
    assert {r[0] for r in sql(db, "SELECT name FROM sqlite_master WHERE type='table'")} == {"alembic_version"}
    store = open_store(db)
    with store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    store.close()


# --- one transaction: a kill mid-migration leaves the previous revision ----------------------------------------


def test_a_new_store_is_built_in_one_transaction(tmp_path):
    probe = tmp_path / "probe.sqlite3"
    done = kill_at(tmp_path, 0, probe)
    steps = int(done.stderr.rsplit("steps:", 1)[1])
    assert done.returncode == 0 and steps > 50
    for step in (1, 13, 24, steps // 2, steps):  # 24: the last of 0001; `steps`: the last version bump
        db = tmp_path / f"new-{step}.sqlite3"
        killed = kill_at(tmp_path, step, db)
        assert killed.returncode == -9, killed.stderr
        tables = {r[0] for r in sql(db, "SELECT name FROM sqlite_master WHERE type='table'")}
        assert tables == set(), f"killed before step {step}, the store holds {sorted(tables)}"
        open_store(db).close()
        assert revision(db) == store_schema.head_revision()
    check = cli(tmp_path, "--db", str(db), "db", "check")
    assert check.returncode == 0, check.stderr


def test_an_upgrade_of_a_store_with_data_is_one_transaction(tmp_path):
    db = fixture_store("a32a1b0", tmp_path)
    store_schema.downgrade(db, file_key(db), LANDINGS["306b4ca"])
    template = tmp_path / "at-0003.sqlite3"
    shutil.copyfile(db, template)
    Keystore(template).put(DB_KEY, file_key(db).hex())
    before = rows(template)
    # 0011's batch copy of case made, then case dropped; 0010's table; inside 0015's copy of person;
    # 0014's seals; the last version bump (0016)
    for step in (1, 3, 12, 22, 34, 38):
        copy = tmp_path / f"upgrade-{step}.sqlite3"
        shutil.copyfile(template, copy)
        Keystore(copy).put(DB_KEY, file_key(db).hex())
        killed = kill_at(tmp_path, step, copy)
        assert killed.returncode == -9, killed.stderr
        assert revision(copy) == LANDINGS["306b4ca"]
        assert rows(copy) == before, f"killed before step {step}: the store changed"
        open_store(copy).close()
        assert revision(copy) == store_schema.head_revision()
        assert_kept(before, rows(copy))
    check = cli(tmp_path, "--db", str(copy), "db", "check")
    assert check.returncode == 0, check.stderr


# --- what older versions left behind ---------------------------------------------------------------------------


@pytest.mark.parametrize("landing", LANDINGS)
def test_a_store_an_older_version_left_half_built_is_rebuilt(landing, tmp_path):
    db = fixture_store(f"{landing}-half-built", tmp_path)
    assert sql(db, "SELECT count(*) FROM alembic_version") == [(0,)]
    assert len(sql(db, "SELECT name FROM sqlite_master WHERE type='table'")) > 3
    done = cli(tmp_path, "--db", str(db), "db", "check")
    assert done.returncode == 0, done.stdout + done.stderr
    assert revision(db) == store_schema.head_revision()


def test_a_half_built_store_that_holds_rows_is_refused_with_the_way_out(tmp_path):
    db = fixture_store("a32a1b0-half-built", tmp_path)
    with contextlib.closing(connect_file(db)) as conn:
        conn.execute("INSERT INTO site (institution, window_name, window_code, workstation_id, region_code, "
                     "training, id, created_at, updated_at) VALUES ('x', 'x', 'SZ01', 'A', '611002', 0, 's1', "
                     "'2026-11-27 02:00:00', '2026-11-27 02:00:00')")
        conn.commit()
    fingerprint = sha256(db)
    done = cli(tmp_path, "--db", str(db), "db", "upgrade")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "没有建完" in done.stderr and "shebao-desk db restore" in done.stderr
    assert sha256(db) == fingerprint
    with pytest.raises(StoreError):
        open_store(db)


def test_a_store_an_older_version_left_half_upgraded_is_repaired(tmp_path):
    """a32a1b0's code, killed inside 0011 while it upgraded 306b4ca's store, had committed the empty table
    of 0011's batch copy of ``case``."""
    db = fixture_store("306b4ca-half-upgraded", tmp_path)
    assert revision(db) == "0003"
    before = rows(db)
    assert before["_alembic_tmp_case"] == {}
    del before["_alembic_tmp_case"]
    assert len(before["person"]) == SEEDED_PEOPLE
    done = cli(tmp_path, "--db", str(db), "db", "check")
    assert done.returncode == 0, done.stdout + done.stderr
    assert revision(db) == store_schema.head_revision()
    assert_kept(before, rows(db))


def test_a_column_an_interrupted_migration_added_is_added_again(tmp_path):
    db = fixture_store("306b4ca", tmp_path)
    with contextlib.closing(connect_file(db)) as conn:  # as 0011 would have left it, were it a plain ALTER
        conn.execute('ALTER TABLE "case" ADD COLUMN promise_provisional BOOLEAN DEFAULT 0 NOT NULL')
        conn.commit()
    before = rows(db)
    open_store(db).close()
    assert revision(db) == store_schema.head_revision()
    assert_kept(before, rows(db))


def test_a_leftover_table_that_holds_rows_is_refused_and_left_as_it_was(tmp_path):
    db = fixture_store("306b4ca", tmp_path)
    with contextlib.closing(connect_file(db)) as conn:  # as if 0011 had made its table and stopped
        conn.execute("CREATE TABLE calendar_year (year INTEGER, schedule TEXT, source VARCHAR(200), "
                     "id VARCHAR(36) PRIMARY KEY, created_at DATETIME, updated_at DATETIME)")
        conn.execute("INSERT INTO calendar_year VALUES (2027, '{}', 'typed by hand', 'c1', '2026-11-27', "
                     "'2026-11-27')")
        conn.commit()
    before = rows(db)
    with pytest.raises(StoreError) as refused:
        open_store(db, encrypt=False)
    assert "db restore" in refused.value.message
    assert rows(db) == before and revision(db) == "0003"


# --- kills at random moments and at every step (slow: the figures of issue 23; -s shows them) -----------------
# SHEBAO_KILLS: kills at random moments (30, as the issue asks); SHEBAO_KILL_WINDOWS: their windows after
# the first write (0.6 s as the issue asks; a narrower one lands more kills inside the build);
# SHEBAO_KILL_EVERY: the sweeps kill before every Nth writing statement (5 here; 1 kills before each one).

KILLS = int(os.environ.get("SHEBAO_KILLS", "30"))
WINDOWS = [float(w) for w in os.environ.get("SHEBAO_KILL_WINDOWS", "0.6").split(",")]
EVERY = int(os.environ.get("SHEBAO_KILL_EVERY", "5"))


def tables_of(db: Path) -> set[str]:
    return {r[0] for r in sql(db, "SELECT name FROM sqlite_master WHERE type='table'")}


def killed_after(tmp_path: Path, db: Path, delay: float, *, after_first_write: bool) -> bool:
    """Start ``db upgrade`` of ``db``; SIGKILL it ``delay`` s after the file's first write (or after the start).
    True if it was still running when killed."""
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state"), "XDG_DATA_HOME": str(tmp_path / "data")}
    if not db.exists():  # `db upgrade` opens only a store that exists (#24): an empty file is a new one
        db.touch(mode=0o600)
    proc = subprocess.Popen([sys.executable, "-m", "shebao_desk", "--db", str(db), "db", "upgrade"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while after_first_write and proc.poll() is None and not (db.exists() and db.stat().st_size > 0):
            time.sleep(0.0005)
        time.sleep(delay)
        alive = proc.poll() is None
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    return alive


def checks(tmp_path: Path, db: Path, *, by_cli: bool) -> bool:
    """What ``db check`` does (open, migrate, check every rule): through the CLI, or in this process (faster)."""
    if by_cli:
        return cli(tmp_path, "--db", str(db), "db", "check").returncode == 0
    from shebao_desk.services.invariants import check_store
    from shebao_desk.store import anchor
    store = open_store(db)
    try:
        with store.read() as s:
            clean = all(f.open_conflict for f in check_store(s))
        with store.engine.connect() as conn:  # as the CLI: what the anchor outside the store tells
            return clean and not anchor.change_log_findings(conn) + anchor.findings(store.path, conn)
    finally:
        store.close()


@pytest.mark.slow
@pytest.mark.timeout(1200)
@pytest.mark.parametrize("window", WINDOWS)
def test_kills_at_random_moments_of_a_new_stores_first_upgrade_leave_no_dead_store(window, tmp_path):
    """Review F1's probe: kill 0–``window`` s after the new file's first write; then ``db check`` opens it
    (the CLI itself for every third kill of the 0.6 s round, the figure issue 23 asks for; the others check in
    this process, through the same open_store and check_store the CLI runs)."""
    rng = random.Random(f"kills-{window}")
    figures: Counter[str] = Counter()
    for i in range(KILLS):
        db = tmp_path / f"n{i}.sqlite3"
        figures["running when killed"] += killed_after(tmp_path, db, rng.uniform(0, window), after_first_write=True)
        held = tables_of(db)
        state = "no schema (killed before the commit)" if not held else \
            "at head" if revision(db) == store_schema.head_revision() else "half-built"
        figures[state] += 1
        passed = checks(tmp_path, db, by_cli=window == 0.6 and i % 3 == 0)  # the CLI's own open path, now and then
        figures["db check failed"] += not passed
        assert state != "half-built" and passed, (i, held)
    print(f"\n{KILLS} kills 0–{window} s after the first write: {dict(figures)}")


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_kills_at_every_step_of_a_new_stores_build(tmp_path):
    steps = int(kill_at(tmp_path, 0, tmp_path / "probe.sqlite3").stderr.rsplit("steps:", 1)[1])
    chosen = [*range(1, steps, EVERY), steps]
    for step in chosen:
        db = tmp_path / f"new-{step}.sqlite3"
        assert kill_at(tmp_path, step, db).returncode == -9
        assert tables_of(db) == set(), step
        open_store(db).close()
        assert revision(db) == store_schema.head_revision()
    print(f"\na new store killed before {len(chosen)} of its {steps} writing statements (every {EVERY}, and the "
          f"last): each time no schema, then opened")


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_kills_inside_the_upgrade_of_a_store_with_data(tmp_path):
    """306b4ca's schema (the a32a1b0 store taken down to 0003, its rows kept), upgraded to head while killed:
    before every writing statement of the remaining migrations, then at random moments of the run."""
    db = fixture_store("a32a1b0", tmp_path)
    key = file_key(db)
    store_schema.downgrade(db, key, LANDINGS["306b4ca"])
    template = tmp_path / "at-0003.sqlite3"
    shutil.copyfile(db, template)
    Keystore(template).put(DB_KEY, key.hex())
    before = rows(template)

    def copy(name: str) -> Path:
        target = tmp_path / f"{name}.sqlite3"
        shutil.copyfile(template, target)
        Keystore(target).put(DB_KEY, key.hex())
        return target

    def opens_with_every_row(target: Path) -> None:
        open_store(target).close()
        assert revision(target) == store_schema.head_revision()
        assert_kept(before, rows(target))

    probe = copy("probe")
    started = time.monotonic()
    steps = int(kill_at(tmp_path, 0, probe).stderr.rsplit("steps:", 1)[1])
    full_run = time.monotonic() - started
    chosen = [*range(1, steps, EVERY), steps]
    for step in chosen:
        target = copy(f"step-{step}")
        assert kill_at(tmp_path, step, target).returncode == -9
        assert revision(target) == LANDINGS["306b4ca"] and rows(target) == before, step
        opens_with_every_row(target)

    rng = random.Random("upgrade-kills")
    figures: Counter[str] = Counter()
    for i in range(KILLS // 3):
        target = copy(f"timed-{i}")
        figures["running when killed"] += killed_after(tmp_path, target, rng.uniform(0.3, full_run),
                                                       after_first_write=False)
        at = revision(target)
        figures["still 0003 (killed before the commit)" if at == "0003" else f"at {at}"] += 1
        assert at in ("0003", store_schema.head_revision()) and (at != "0003" or rows(target) == before)
        opens_with_every_row(target)
    print(f"\nupgrade 0003 → head of a store with data ({len(before['person'])} people), one run {full_run:.2f} s: "
          f"killed before {len(chosen)} of its {steps} writing statements (every {EVERY}, and the last), each time "
          f"still 0003 with every row; {KILLS // 3} kills at random moments 0.3–{full_run:.2f} s after the start: {dict(figures)}")
