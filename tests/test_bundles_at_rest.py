"""A lost USB stick shows nobody's ID number: the bundles the program writes hold none readable, and the
scanner that the whole run applies to every bundle the tests write (conftest) does find one when it is there."""

from __future__ import annotations

import base64
import gzip
import json
import tempfile
from pathlib import Path

from bundle_scan import leaks, readable_ids
from shebao_desk.services.demo import seed
from shebao_desk.store.database import connect_file, open_store
from shebao_desk.sync.bundle import export_bundle, own_key, trust

LEGACY = Path(__file__).parent / "fixtures" / "bundles"


def test_the_scanner_finds_an_id_in_an_unsealed_old_bundle():
    with tempfile.TemporaryDirectory() as folder:  # outside the run's folder, which the run scans at its end
        _finds_one(Path(folder))


def _finds_one(tmp_path: Path) -> None:
    changes = [{"table_name": "person", "values": {"id_number": "610102198005170016", "name": "李秀英"}}]
    payload = base64.b64encode(gzip.compress(json.dumps(changes).encode())).decode()
    (tmp_path / "plain.json").write_text(json.dumps({"format": "shebao-bundle/2", "payload": payload}), encoding="utf-8")
    assert readable_ids((tmp_path / "plain.json").read_bytes()) == {"610102198005170016"}
    assert list(leaks(tmp_path)) == [tmp_path / "plain.json"]
    assert readable_ids(b"order 610102198005170018 is not an ID: wrong check digit") == set()
    # 18 digits inside a hex signature are chance, not an ID number (a run failed on one)
    assert readable_ids(b'"signature":"2c944c493491934230039732d57913"') == set()
    assert readable_ids('{"id_number":"610102198005170016"},李秀英610102198005170016号'.encode()) == {
        "610102198005170016"}


def test_bundles_written_hold_no_readable_id(tmp_path, policy):
    a = open_store(tmp_path / "a.sqlite3")
    seed(a, policy, 30, workstation="A")
    b = open_store(tmp_path / "b.sqlite3")
    seed(b, policy, 1, workstation="B")
    trust(a, *own_key(b))
    out = export_bundle(a, tmp_path / "bundles" / "a1.bundle").path
    with connect_file(a.path) as conn:
        ids = {r[0] for r in conn.execute("select id_number from person")}
    assert len(ids) == 30
    assert readable_ids(out.read_bytes()) == set()
    assert leaks(tmp_path) == {}
    assert leaks(LEGACY) == {}  # the old-format fixtures too (the unsealed one carries an account only)
    a.close(), b.close()
