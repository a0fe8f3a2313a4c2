"""Bundles sealed to their receivers: only a named site opens one; a lost file shows no personal data."""

from __future__ import annotations

import pytest

from shebao_desk.demo import seed
from shebao_desk.keystore import Keystore
from shebao_desk.store import open_store
from shebao_desk.sync.bundle import export_bundle
from shebao_desk.sync.envelope import EnvelopeError, box_key, box_public, is_envelope, open_envelope, seal


def test_only_the_receivers_open_a_sealed_bundle(tmp_path, policy):
    a = open_store(tmp_path / "a.sqlite3")
    seed(a, policy, 20, workstation="A")
    plain = export_bundle(a, tmp_path / "a.json").path.read_bytes()
    from shebao_desk.store import connect_file
    with connect_file(a.path) as conn:
        numbers = [r[0] for r in conn.execute("select id_number from person")]
    a.close()
    b_key, c_key, evil = (box_key(Keystore(tmp_path / f"{n}.sqlite3")) for n in "bce")
    sealed = seal(plain, {"SZ01B": box_public(b_key), "SZ01C": box_public(c_key)})
    assert is_envelope(sealed) and not is_envelope(plain)
    assert not [n for n in numbers if n.encode() in sealed]
    assert open_envelope(sealed, "SZ01B", b_key) == plain
    assert open_envelope(sealed, "SZ01C", c_key) == plain
    with pytest.raises(EnvelopeError, match="不是发给本站"):
        open_envelope(sealed, "SZ01E", evil)
    with pytest.raises(EnvelopeError, match="不是发给本站"):
        open_envelope(sealed, "SZ01B", evil)  # right name, wrong key
    flipped = bytearray(sealed)
    at = sealed.index(b'"body": "') + 20
    flipped[at] = ord("A") if flipped[at] != ord("A") else ord("B")
    with pytest.raises(EnvelopeError, match="损坏"):
        open_envelope(bytes(flipped), "SZ01B", b_key)


def test_the_box_key_is_kept_in_the_keystore(tmp_path):
    ks = Keystore(tmp_path / "s.sqlite3")
    assert box_public(box_key(ks)) == box_public(box_key(ks))
    assert len(ks.get("box_key")) == 64
