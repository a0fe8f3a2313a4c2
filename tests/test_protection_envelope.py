"""Bundles sealed to their receivers: only a pinned site opens one; a lost file shows no personal data."""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shebao_desk.services.demo import seed
from shebao_desk.store.site_identity import ensure_site
from shebao_desk.store.database import connect_file, open_store
from shebao_desk.sync.bundle import BundleError, export_bundle, import_bundle, own_key, trust
from shebao_desk.sync.envelope import (
    EnvelopeError, box_public, is_envelope, open_envelope, seal, x25519_private, x25519_public,
)

RAW = serialization.Encoding.Raw


def test_one_key_pair_for_both_uses():
    """The X25519 twin of an Ed25519 key pair: the public half derived from the pinned signing key
    matches the private half derived from the seed (RFC 7748 / libsodium's conversion)."""
    for _ in range(20):
        ed = Ed25519PrivateKey.generate()
        seed_bytes = ed.private_bytes(RAW, serialization.PrivateFormat.Raw, serialization.NoEncryption())
        ed_public = ed.public_key().public_bytes(RAW, serialization.PublicFormat.Raw)
        assert x25519_public(ed_public) == box_public(x25519_private(seed_bytes))


def _site(tmp_path, policy, name, people=0):
    store = open_store(tmp_path / f"{name}.sqlite3")
    if people:
        seed(store, policy, people, workstation=name)
    else:
        with store.unit(None, name, "setup") as s:
            ensure_site(s, policy.site, name)
    return store


def test_a_bundle_is_sealed_for_the_pinned_sites_and_only_they_import_it(tmp_path, policy):
    a, b, c = (_site(tmp_path, policy, n, 20 if n == "A" else 0) for n in "ABC")
    for store in (b,):  # A pins B's key (exchanged by phone); B pins A's
        trust(a, *own_key(store))
    trust(b, *own_key(a))
    with pytest.raises(BundleError, match="尚未登记站点"):
        export_bundle(a, tmp_path / "x.json", to="SZ99Z")
    result = export_bundle(a, tmp_path / "a.json")
    assert result.number == 1  # the refused export moved nothing on
    out = result.path
    data = out.read_bytes()
    with connect_file(a.path) as conn:
        people = conn.execute("select id_number, name from person").fetchall()
    assert is_envelope(data)
    assert [n for n, name in people if n.encode() in data or name.encode() in data] == []
    with pytest.raises(EnvelopeError, match="不是发给本站"):
        import_bundle(c, out)  # C was not pinned by A: the lost stick case
    result = import_bundle(b, out)
    assert result.applied > 0
    for store in (a, b, c):
        store.close()


def test_a_tampered_or_misaddressed_envelope_is_refused():
    keys = {o: x25519_private(os.urandom(32)) for o in ("SZ01B", "SZ01C", "SZ01E")}
    plain = b'{"format": "x"}'
    sealed = seal(plain, {o: box_public(keys[o]) for o in ("SZ01B", "SZ01C")})
    assert open_envelope(sealed, "SZ01B", keys["SZ01B"]) == plain
    assert open_envelope(sealed, "SZ01C", keys["SZ01C"]) == plain
    with pytest.raises(EnvelopeError, match="不是发给本站"):
        open_envelope(sealed, "SZ01B", keys["SZ01E"])  # right name, wrong key
    flipped = bytearray(sealed)
    at = sealed.index(b'"body": "') + 12
    flipped[at] = ord("A") if flipped[at] != ord("A") else ord("B")
    with pytest.raises(EnvelopeError, match="损坏"):
        open_envelope(bytes(flipped), "SZ01B", keys["SZ01B"])
