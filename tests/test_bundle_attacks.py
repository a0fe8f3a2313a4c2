"""Malicious bundles, as the reliability probe crafted them: each is refused through the real command line
with exit 2 and one plain line, and the receiving store stays byte-for-byte what it was."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import subprocess
import sys
import time
import zlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shebao_desk.services.demo import seed
from shebao_desk.models.base import utcnow
from shebao_desk.config.policy import load_policy
from shebao_desk.store.database import connect_file, open_store
from shebao_desk.sync import bundle as B
from shebao_desk.sync.bundle_file import MAGIC

pytestmark = pytest.mark.slow  # every attack goes through `bundle import` in a subprocess
# The memory tests run scaled down; SHEBAO_PROBE_SCALE=1 runs them at the probe's sizes (a 120 MB
# unsigned file; a dense payload from a pinned peer of 170 MB, above the probe's 100 MB) to measure the
# figures issue 24 asks for (2026-12-05: every one refused at 88 MB peak, 2-14 s).
PROBE_SCALE = os.environ.get("SHEBAO_PROBE_SCALE") == "1"


def cli(tmp_path, db, *args, stdin=None):
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")}
    env.pop("SHEBAO_DB", None)
    return subprocess.run([sys.executable, "-m", "shebao_desk", "--db", str(db), *args], input=stdin,
                          capture_output=True, text=True, timeout=300, env=env, check=False)


def fingerprint_of_file(db) -> str:
    """The store's bytes once its log is folded in (a refused import must leave no trace, not even in the WAL)."""
    with connect_file(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return hashlib.sha256(db.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def sites(tmp_path_factory):
    """A receiver R (with an admin) and an evil site E whose genuine bundle is the raw material of the attacks."""
    root = tmp_path_factory.mktemp("attacks")
    policy = load_policy()
    r_db, e_db = root / "r.sqlite3", root / "e.sqlite3"
    assert cli(root, r_db, "--workstation", "R", "demo", "seed", "3").returncode == 0
    made = cli(root, r_db, "admin", "create-user", "--username", "boss", "--name", "老板", "--role", "admin",
               "--password-stdin", stdin="Corr3ct-Horse-Battery\n")
    assert made.returncode == 0, made.stderr
    r = open_store(r_db)
    r_origin, r_public = B.own_key(r)
    e = open_store(e_db)
    seed(e, policy, 2, workstation="E")
    B.trust(e, r_origin, r_public)
    genuine = B.export_bundle(e, root / "e1.bundle")
    header, changes = B.read_bundle(genuine.path, r)
    with e.engine.connect() as conn:
        key = B.site_signing_key(conn)
    e.close()
    r.close()
    with connect_file(r_db) as conn:
        admin_id = conn.execute("SELECT id FROM clerk WHERE username = 'boss'").fetchone()[0]
        audit_id = conn.execute("SELECT id FROM audit_entry LIMIT 1").fetchone()[0]
    conn.close()
    return {"root": root, "r": r_db, "key": key, "origin": header["origin"], "changes": changes,
            "genuine": genuine.path, "admin_id": admin_id, "audit_id": audit_id,
            "receivers": {r_origin: bytes.fromhex(r_public)}}


def craft(sites, changes=None, *, origin=None, number=1, payload=None, key=None, name="x.bundle", lines=None):
    """A format-3 bundle signed with ``key`` (E's by default) and sealed for R."""
    key = key or sites["key"]
    if lines is None and payload is None:
        lines = B.change_lines(changes) if isinstance(changes, list) else json.dumps(changes).encode() + b"\n"
    data = B.seal_bundle(origin=origin or sites["origin"], incarnation=0, number=number, count=len(changes or []),
                         seed=key.private_bytes_raw(), receivers=sites["receivers"], lines=lines, compressed=payload,
                         created_at=utcnow().isoformat())
    path = sites["root"] / name
    path.write_bytes(data)
    return path


def change(sites, table, row_id, values, *, origin=None, hlc=None):
    origin = origin or sites["origin"]
    return {"change_id": f"c0ffee00-0000-4000-8000-{abs(hash((table, row_id, str(values)))) % 10**12:012d}",
            "table_name": table, "row_id": row_id, "hlc": hlc or f"{int(time.time() * 1000):013d}-00000-{origin}",
            "origin": origin, "values": values}


def refused(sites, path, *words):
    before = fingerprint_of_file(sites["r"])
    result = cli(sites["root"], sites["r"], "bundle", "import", str(path))
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr + result.stdout, result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    assert fingerprint_of_file(sites["r"]) == before
    return lines[0]


@pytest.fixture(scope="module")
def pinned(sites):
    """From here on E is a pinned, known signer: even so it may not do any of the following."""
    pinned = cli(sites["root"], sites["r"], "bundle", "trust", sites["origin"], sites["key"].public_key().public_bytes_raw().hex(),
                 "--admin", "boss", "--admin-password-stdin", stdin="Corr3ct-Horse-Battery\n")
    assert pinned.returncode == 0, pinned.stderr
    return sites


def test_unknown_signer_is_refused_before_its_payload_is_read(sites):
    refused(sites, sites["genuine"], "未登记的站点", "bundle trust")


def test_a_wrong_fingerprint_pinned_beforehand_refuses_the_key(tmp_path, sites):
    db = tmp_path / "other.sqlite3"
    assert cli(tmp_path, db, "--workstation", "Q", "demo", "seed", "1").returncode == 0
    assert cli(tmp_path, db, "bundle", "trust", sites["origin"], B.key_code(Ed25519PrivateKey.generate().public_key().public_bytes_raw())).returncode == 0
    result = cli(tmp_path, db, "bundle", "import", str(sites["genuine"]))
    assert result.returncode == 2 and "密钥与" in result.stderr


def test_origin_of_a_change_must_be_the_signer(pinned):
    forged = [dict(c, origin="SZ01R") if c["table_name"] == "person" else c for c in pinned["changes"]]
    refused(pinned, craft(pinned, forged), "冒充")


def test_clerk_takeover_is_refused(pinned):
    takeover = change(pinned, "clerk", pinned["admin_id"], {"password_hash": "$argon2id$v=19$m=65536,t=3,p=4$x$y"})
    refused(pinned, craft(pinned, pinned["changes"] + [takeover]), "经办员")
    new_admin = change(pinned, "clerk", "0000aaaa-0000-4000-8000-000000000001",
                       {"id": "0000aaaa-0000-4000-8000-000000000001", "username": "evil", "display_name": "x",
                        "role": "admin", "active": True, "password_hash": "$argon2id$...", "failed_logins": 0})
    refused(pinned, craft(pinned, pinned["changes"] + [new_admin]), "经办员")


def test_audit_rewrite_is_refused(pinned):
    rewrite = change(pinned, "audit_entry", pinned["audit_id"], {"action": "nothing happened"})
    refused(pinned, craft(pinned, pinned["changes"] + [rewrite]), "审计")


@pytest.mark.parametrize("table", ["site", "sync_state", "sync_peer", "alembic_version", "no_such_table"])
def test_site_identity_and_sync_tables_are_refused(pinned, table):
    hijack = change(pinned, table, "1", {"workstation_id": "HACKQ"})
    refused(pinned, craft(pinned, pinned["changes"] + [hijack]), "不允许")


def test_clock_in_the_far_future_is_refused(pinned):
    future = f"{int(time.time() * 1000) + 86_400_000:013d}-00000-{pinned['origin']}"
    late = [dict(c, hlc=future) if i == 3 else c for i, c in enumerate(pinned["changes"])]
    refused(pinned, craft(pinned, late), "时间晚于")


@pytest.mark.parametrize("clock", ["zzzz-zz-zz", "9999999999999-100013-SZ01E", "", "1-1"])
def test_garbage_clock_is_refused(pinned, clock):
    bad = [dict(c, hlc=clock) if i == 0 else c for i, c in enumerate(pinned["changes"])]
    refused(pinned, craft(pinned, bad), "时钟")


def test_text_the_central_schema_would_refuse_is_refused(pinned):
    person = next(c for c in pinned["changes"] if c["table_name"] == "person")
    for bad_name in ("李\x00四", "长" * 51, "\u202e四李"):
        poisoned = [dict(c, values={**c["values"], "name": bad_name}) if c is person else c for c in pinned["changes"]]
        refused(pinned, craft(pinned, poisoned), "姓名")


@pytest.mark.parametrize("payload", [[{"change_id": "x"}], {"not": "a list"}, [1, 2, 3]])
def test_malformed_payloads_are_refused(pinned, payload):
    refused(pinned, craft(pinned, payload), "格式不对")


def import_measured(sites, path):
    """`bundle import` in a subprocess, with its peak memory (MB); the store must come out byte-identical."""
    before = fingerprint_of_file(sites["r"])
    # VmHWM, not ru_maxrss: the latter keeps the parent's peak across fork + exec.
    probe = ("import re, sys; from shebao_desk.commands.cli import main; code = main(sys.argv[1:]); "
             "print(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1)); sys.exit(code)")
    env = {**os.environ, "XDG_STATE_HOME": str(sites["root"] / "state")}
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-c", probe, "--db", str(sites["r"]), "bundle", "import", str(path)],
                            capture_output=True, text=True, timeout=300, env=env, check=False)
    elapsed = time.monotonic() - started
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert fingerprint_of_file(sites["r"]) == before
    peak_mb = int(result.stdout.strip()) / 1024
    print(f"{path.name} ({path.stat().st_size / 1e6:.1f} MB): {result.stderr.strip()} in {elapsed:.1f} s, peak {peak_mb:.0f} MB")
    return result.stderr, peak_mb


def test_gzip_bomb_is_refused_with_little_memory(pinned):
    # 1 GiB of one valid change repeated, in about 1 MB: the probe's 6.4 GB bomb had the same ratio.
    squeeze = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    line = B.change_lines([_person_change(pinned)])
    block = line * ((16 << 20) // len(line))
    payload = b"".join(squeeze.compress(block) for _ in range(64)) + squeeze.flush()
    message, peak_mb = import_measured(pinned, craft(pinned, [], payload=payload, name="bomb.bundle"))
    assert "压缩炸弹" in message
    assert peak_mb < 200, f"peak memory {peak_mb:.0f} MB"


@pytest.mark.parametrize("megabytes", [120] if PROBE_SCALE else [12, 40])
def test_an_unsigned_file_of_nested_lists_is_refused_before_it_is_parsed(sites, megabytes):
    """The probe's pre-authentication bomb, scaled down (120 MB of `[[],[],…]` took 3.3 GB): under the
    cap for files of the old formats (parsed whole) and over it."""
    path = sites["root"] / f"lists_{megabytes}MB.json"
    with path.open("wb") as f:
        f.write(b'{"format":"shebao-bundle/2","filler":[' + b"[]," * ((megabytes << 20) // 3) + b"[]]}")
    message, peak_mb = import_measured(sites, path)
    assert "已损坏" in message
    assert peak_mb < 200, f"peak memory {peak_mb:.0f} MB"


def test_an_unsigned_header_is_refused_before_its_payload_is_read(sites):
    size = (120 if PROBE_SCALE else 30) << 20
    header = {"format": B.FORMAT, "origin": sites["origin"], "incarnation": 0, "number": 1, "public_key": "00" * 32,
              "created_at": "2026-12-05T00:00:00", "changes": 1, "signature": "00" * 64,
              "receivers": [{"origin": o, "public_key": k.hex(), "sealed_key": "AA=="} for o, k in sites["receivers"].items()],
              "payload": {"bytes": size, "sha256": "0" * 64}}
    path = sites["root"] / "unsigned.bundle"
    path.write_bytes(MAGIC + json.dumps(header).encode() + b"\n" + b"\0" * size)
    message, peak_mb = import_measured(sites, path)
    assert "签名校验失败" in message and peak_mb < 200


def test_a_dense_payload_from_a_pinned_peer_is_read_as_a_stream(pinned):
    """The probe's dense 100 MB payload (1.9 GB before the refusal), scaled down to 24 MB of changes that
    each look right, the last line not: every change is read and checked, none kept."""
    person = _person_change(pinned)
    lines = b"".join(B.change_lines([dict(person, change_id=f"c0ffee00-0000-4000-8000-{i:012d}",
                                          values={**person["values"], "address": os.urandom(60).hex()})])
                     for i in range(250_000 if PROBE_SCALE else 60_000)) + b"[[[not a change\n"
    # Stored, not deflated, at the probe's scale: the file is as large as its payload (170 MB).
    payload = gzip.compress(lines, compresslevel=0 if PROBE_SCALE else 6, mtime=0)
    message, peak_mb = import_measured(pinned, craft(pinned, payload=payload, name="dense.bundle"))
    assert "无法解析" in message and peak_mb < 200, message


def _person_change(sites):
    return next(c for c in sites["changes"] if c["table_name"] == "person" and "id" in c["values"])


@pytest.mark.parametrize("poison", ["birth_date_as_int", "unknown_status", "existing_id_number"])
def test_values_the_store_cannot_take_are_refused_cleanly(pinned, poison):
    person = _person_change(pinned)
    values = dict(person["values"])
    if poison == "birth_date_as_int":
        values["birth_date"] = 19800517
    elif poison == "unknown_status":
        values["status"] = "bogus"
    else:  # a second person with an ID number R already holds
        with connect_file(pinned["r"]) as conn:
            values["id_number"] = conn.execute("SELECT id_number FROM person LIMIT 1").fetchone()[0]
        conn.close()
    poisoned = [dict(c, values=values) if c is person else c for c in pinned["changes"]]
    refused(pinned, craft(pinned, poisoned), "已拒绝导入")


@pytest.mark.parametrize("number", ["../../../../outside/x", "SZ01E-20260309-0001/../../x"])
def test_a_case_number_that_would_become_a_path_outside_is_refused(pinned, number):
    """The probe's traversal: a case number from a bundle made a reprint write four folders up."""
    case = next(c for c in pinned["changes"] if c["table_name"] == "case" and "number" in c["values"])
    poisoned = [dict(c, values={**c["values"], "number": number}) if c is case else c for c in pinned["changes"]]
    refused(pinned, craft(pinned, poisoned), "受理编号")


def test_an_attachment_file_name_with_a_path_is_refused(pinned):
    case = next(c for c in pinned["changes"] if c["table_name"] == "case" and "id" in c["values"])
    attachment = change(pinned, "case_attachment", "0000bbbb-0000-4000-8000-000000000001",
                        {"id": "0000bbbb-0000-4000-8000-000000000001", "case_id": case["row_id"], "kind": "id_copy",
                         "file_name": "../../../outside.jpg", "media_type": "image/jpeg", "sha256": "0" * 64, "dpi": 300})
    refused(pinned, craft(pinned, pinned["changes"] + [attachment]), "附件文件名")


def test_the_genuine_bundle_still_imports_and_carries_no_credentials(pinned):
    assert all(not (B.CREDENTIALS & set(c["values"])) for c in pinned["changes"] if c["table_name"] == "clerk")

    def clerks():
        with connect_file(pinned["r"]) as conn:
            rows = conn.execute("SELECT * FROM clerk ORDER BY id").fetchall()
        conn.close()
        return rows
    before = clerks()
    result = cli(pinned["root"], pinned["r"], "bundle", "import", str(pinned["genuine"]))
    assert result.returncode == 0, result.stderr
    assert clerks() == before  # E's clerk "demo" has the same id as R's own: R's account is left alone
    with connect_file(pinned["r"]) as conn:
        people = conn.execute("SELECT count(*) FROM person").fetchone()[0]
    conn.close()
    assert people == 5

