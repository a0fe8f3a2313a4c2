"""Bundles sealed to their receivers: only a pinned site opens one; a lost file shows no personal data.
Bundles written before format 3 (sealed ``shebao-envelope/1``, plain ``shebao-bundle/2``) are still read."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import nacl.bindings as sodium
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shebao_desk.services.demo import seed
from shebao_desk.store.database import connect_file, open_store
from shebao_desk.store.keystore import SIGNING_KEY, Keystore
from shebao_desk.store.site_identity import ensure_site
from shebao_desk.sync.bundle import BundleError, export_bundle, import_bundle, own_key, trust
from shebao_desk.sync.bundle_file import MAGIC
from shebao_desk.sync.envelope import (
    EnvelopeError, box_public, box_secret, new_content_key, open_stream, seal_stream, unwrap_key, wrap_key,
)
from shebao_desk.sync.keycode import PinFormatError, key_code, parse_pin

LEGACY = Path(__file__).parent / "fixtures" / "bundles"


def test_one_key_pair_for_both_uses():
    """libsodium's X25519 twin of an Ed25519 key pair: the public half from the pinned signing key
    is the public half of the secret half from the seed."""
    for _ in range(20):
        ed = Ed25519PrivateKey.generate()
        seed_bytes, public = ed.private_bytes_raw(), ed.public_key().public_bytes_raw()
        assert box_public(public) == sodium.crypto_scalarmult_base(box_secret(seed_bytes))


def test_a_wrapped_key_opens_only_for_its_receiver():
    b, e = os.urandom(32), os.urandom(32)
    b_public = sodium.crypto_sign_seed_keypair(b)[0]
    key = new_content_key()
    wrapped = wrap_key(key, b_public)
    assert unwrap_key(wrapped, b) == key
    with pytest.raises(EnvelopeError, match="损坏"):
        unwrap_key(wrapped, e)


def test_a_stream_refuses_a_flipped_cut_reordered_or_extended_file():
    key, ad = new_content_key(), b"header"
    data = os.urandom(200_000)
    sealed = list(seal_stream([data], key, ad))
    assert len(sealed) == 1 + 4  # header + four chunks of 64 KiB or less
    assert b"".join(open_stream(sealed, key, ad)) == data
    flipped = [sealed[0], bytes([sealed[1][0] ^ 1]) + sealed[1][1:], *sealed[2:]]
    for bad in (flipped, sealed[:-1], [sealed[0], sealed[2], sealed[1], *sealed[3:]], sealed + [sealed[-1]]):
        with pytest.raises(EnvelopeError):
            b"".join(open_stream(bad, key, ad))
    with pytest.raises(EnvelopeError):
        b"".join(open_stream(sealed, key, b"another header"))


def test_key_code_round_trip_and_typos():
    for _ in range(50):
        public = os.urandom(32)
        code = key_code(public)
        groups = code.split()
        assert len(groups) == 16 and all(len(g) == 5 and g.isdigit() for g in groups)
        assert parse_pin(code).public == public
        digits = code.replace(" ", "")
        typo = digits[:10] + str((int(digits[10]) + 1) % 10) + digits[11:]
        with pytest.raises(PinFormatError, match="校验不符"):
            parse_pin(typo)
        i = next(i for i in range(30, 70) if digits[i] != digits[i + 1])
        swapped = digits[:i] + digits[i + 1] + digits[i] + digits[i + 2:]
        with pytest.raises(PinFormatError, match="校验不符"):
            parse_pin(swapped)
    assert parse_pin("AB" * 32).public == bytes.fromhex("AB" * 32)
    assert parse_pin("0123 4567 89AB CDEF 0123 4567 89AB CDEF").fingerprint == "0123456789ABCDEF0123456789ABCDEF"


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
    with pytest.raises(BundleError, match="尚未登记任何接收站点"):
        export_bundle(a, tmp_path / "none.json")  # personal data never leaves unsealed
    assert not (tmp_path / "none.json").exists()
    trust(a, *own_key(b))
    trust(b, *own_key(a))
    trust(c, *own_key(a))  # C trusts A, but A did not pin C
    with pytest.raises(BundleError, match="尚未登记站点"):
        export_bundle(a, tmp_path / "x.json", to="SZ99Z")
    result = export_bundle(a, tmp_path / "a.json")
    assert result.number == 1 and result.receivers == (own_key(b)[0],)  # the refused exports moved nothing on
    data = result.path.read_bytes()
    with connect_file(a.path) as conn:
        people = conn.execute("select id_number, name from person").fetchall()
    assert data.startswith(MAGIC)
    assert [n for n, name in people if n.encode() in data or name.encode() in data] == []
    with pytest.raises(BundleError, match="不是发给本站"):
        import_bundle(c, result.path)  # C was not pinned by A: the lost stick case
    assert import_bundle(b, result.path).applied > 0
    for store in (a, b, c):
        store.close()


def _legacy_receiver(tmp_path, policy):
    """A store that is the receiver SZ01B of the legacy fixtures: its signing key, the sender pinned."""
    meta = json.loads((LEGACY / "legacy-keys.json").read_text(encoding="utf-8"))
    store = open_store(tmp_path / "b.sqlite3")
    Keystore(store.path).put(SIGNING_KEY, meta["receiver_seed"])
    with store.unit(None, "B", "setup") as s:
        ensure_site(s, policy.site, "B")
    assert own_key(store) == tuple(meta["receiver"])
    return store, meta


def test_bundles_from_before_format_3_are_still_read(tmp_path, policy):
    """Made by the version before (5775738): #1 signed only, #2 sealed in a shebao-envelope/1."""
    b, meta = _legacy_receiver(tmp_path, policy)
    trust(b, *meta["sender"])
    for name in ("legacy-v2-plain.json", "legacy-v1-sealed.json"):
        shutil.copyfile(LEGACY / name, tmp_path / name)
    first = import_bundle(b, tmp_path / "legacy-v2-plain.json")
    assert (first.number, first.applied) == (1, 3)
    second = import_bundle(b, tmp_path / "legacy-v1-sealed.json")
    assert second.number == 2 and second.applied > 20
    with connect_file(b.path) as conn:
        assert conn.execute("select count(*) from person").fetchone()[0] == 3
    b.close()


def test_a_legacy_sealed_bundle_for_another_key_is_refused(tmp_path, policy):
    b, meta = _legacy_receiver(tmp_path, policy)
    trust(b, *meta["sender"])
    Keystore(b.path).put(SIGNING_KEY, os.urandom(32).hex())  # B's key was replaced since
    shutil.copyfile(LEGACY / "legacy-v1-sealed.json", tmp_path / "s.json")
    with pytest.raises(EnvelopeError, match="不是发给本站"):
        import_bundle(b, tmp_path / "s.json")
    b.close()


def test_a_legacy_fingerprint_pin_still_receives_and_is_completed_by_the_key_code(tmp_path, policy):
    """A pin stored by an earlier version (32 hex digits): B still accepts A's bundles (the key in the
    header is checked against it); A cannot seal for B until B's key code completes the pin."""
    from shebao_desk.sync.bundle import plan_trust
    from shebao_desk.sync.keycode import fingerprint_hex
    a, b = _site(tmp_path, policy, "A", 5), _site(tmp_path, policy, "B")
    a_origin, a_key = own_key(a)
    b_origin, b_key = own_key(b)
    for store, origin, key in ((b, a_origin, a_key), (a, b_origin, b_key)):  # what the old `bundle trust` stored
        with connect_file(store.path) as conn:
            conn.execute("insert into sync_peer (origin, public_key, last_bundle, updated_at, fingerprint, incarnation) "
                         "values (?, x'', 0, '2026-11-30 00:00:00', ?, 0)", (origin, fingerprint_hex(bytes.fromhex(key))))
    with pytest.raises(BundleError, match="旧版指纹"):
        export_bundle(a, tmp_path / "a1.bundle")
    assert plan_trust(a, b_origin, key_code(bytes.fromhex(b_key))).kind == "complete"
    trust(a, b_origin, key_code(bytes.fromhex(b_key)))
    result = import_bundle(b, export_bundle(a, tmp_path / "a1.bundle").path)
    assert result.newly_trusted and result.applied > 0
    with connect_file(b.path) as conn:
        assert conn.execute("select hex(public_key) from sync_peer").fetchone()[0] == a_key.upper()
    other = Ed25519PrivateKey.generate().public_key().public_bytes_raw()
    assert plan_trust(b, a_origin, key_code(other)).kind == "replace"
    with pytest.raises(BundleError, match="--replace"):
        trust(b, a_origin, key_code(other))
    a.close(), b.close()
