"""Bundles sealed for their receivers, at the file boundary: a lost USB stick leaks nothing.

The signed bundle file (see :mod:`bundle`) is encrypted once with a random content
key (AES-256-GCM), and that key is wrapped for each receiving site with X25519 +
HKDF-SHA256 + AES-256-GCM under the site's public "box" key, so any one of them, and
nobody else, can open it. The file names the receivers (origin and key fingerprint),
not the contents. Each site's box key pair lives in its keystore beside its signing key.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from shebao_desk.errors import ShebaoError

FORMAT = "shebao-envelope/1"
MAGIC = b'{"envelope": "' + FORMAT.encode() + b'"'


class EnvelopeError(ShebaoError):
    pass


def _raw_public(key: X25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def fingerprint(public: bytes) -> str:
    return hashlib.sha256(public).hexdigest()[:16]


def _kek(shared: bytes, ephemeral: bytes, receiver: bytes, origin: str) -> bytes:
    info = b"shebao bundle key|" + origin.encode() + b"|" + ephemeral + receiver
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(shared)


def seal(data: bytes, receivers: dict[str, bytes]) -> bytes:
    """``data`` encrypted for each receiving site (origin → its 32-byte X25519 public key)."""
    if not receivers:
        raise EnvelopeError("没有可加密的接收站点：请先登记对方站点的公钥", "no receivers")
    content_key, nonce = AESGCM.generate_key(bit_length=256), os.urandom(12)
    ephemeral = X25519PrivateKey.generate()
    eph_public = _raw_public(ephemeral.public_key())
    wrapped = []
    for origin, public in sorted(receivers.items()):
        shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(public))
        wrap_nonce = os.urandom(12)
        key = AESGCM(_kek(shared, eph_public, public, origin)).encrypt(wrap_nonce, content_key, origin.encode())
        wrapped.append({"origin": origin, "key_fingerprint": fingerprint(public),
                        "nonce": base64.b64encode(wrap_nonce).decode(), "key": base64.b64encode(key).decode()})
    body = AESGCM(content_key).encrypt(nonce, data, FORMAT.encode())
    document = {"envelope": FORMAT, "ephemeral": base64.b64encode(eph_public).decode(), "receivers": wrapped,
                "nonce": base64.b64encode(nonce).decode(), "body": base64.b64encode(body).decode()}
    return json.dumps(document, ensure_ascii=False).encode()


def is_envelope(data: bytes) -> bool:
    return data.lstrip()[:len(MAGIC)] == MAGIC


def open_envelope(data: bytes, origin: str, private: X25519PrivateKey) -> bytes:
    """The sealed bundle, if this site (origin and key) is among the receivers."""
    try:
        document = json.loads(data)
        eph_public = base64.b64decode(document["ephemeral"])
        mine = _raw_public(private.public_key())
        entry = next((r for r in document["receivers"]
                      if r["origin"] == origin and r["key_fingerprint"] == fingerprint(mine)), None)
        if entry is None:
            raise EnvelopeError(f"此数据包不是发给本站（{origin}）的，无法打开",
                                f"receivers {[r['origin'] for r in document['receivers']]}")
        shared = private.exchange(X25519PublicKey.from_public_bytes(eph_public))
        content_key = AESGCM(_kek(shared, eph_public, mine, origin)).decrypt(
            base64.b64decode(entry["nonce"]), base64.b64decode(entry["key"]), origin.encode())
        return AESGCM(content_key).decrypt(base64.b64decode(document["nonce"]), base64.b64decode(document["body"]),
                                           FORMAT.encode())
    except EnvelopeError:
        raise
    except (InvalidTag, ValueError, KeyError, TypeError) as exc:
        raise EnvelopeError("数据包已损坏或被改动，无法解密", f"envelope: {exc!r}") from exc


_P = 2**255 - 19


def x25519_public(ed25519_public: bytes) -> bytes:
    """The Montgomery u = (1 + y) / (1 - y) of an Ed25519 public key (y little-endian, sign bit dropped)."""
    if len(ed25519_public) != 32:
        raise EnvelopeError("公钥格式不对", "ed25519 public key must be 32 bytes")
    y = int.from_bytes(ed25519_public, "little") & ((1 << 255) - 1)
    if y >= _P or (1 - y) % _P == 0:
        raise EnvelopeError("公钥格式不对", "not a usable ed25519 point")
    u = (1 + y) * pow((1 - y) % _P, _P - 2, _P) % _P
    return u.to_bytes(32, "little")


def x25519_private(ed25519_seed: bytes) -> X25519PrivateKey:
    """The X25519 key of an Ed25519 private key: the clamped first half of SHA-512(seed), as Ed25519 signs with."""
    return X25519PrivateKey.from_private_bytes(hashlib.sha512(ed25519_seed).digest()[:32])


def box_public(key: X25519PrivateKey) -> bytes:
    return _raw_public(key.public_key())
