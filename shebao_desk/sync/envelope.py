"""Sealing bundles for their receivers with libsodium (PyNaCl): a lost USB stick leaks nothing.

One key pair per site: its Ed25519 signing key. libsodium converts it to the X25519 key
that receives (``crypto_sign_ed25519_pk_to_curve25519`` / ``..._sk_to_curve25519``), so the
key a site pins for a peer both checks the peer's signature and seals for it.

A bundle's content is encrypted once, as a stream of chunks, with a random content key
(``crypto_secretstream_xchacha20poly1305``: each chunk authenticated, the order and the end
of the stream too, so a cut or reordered file fails); the content key is wrapped for each
receiver with a sealed box (``crypto_box_seal``: an ephemeral X25519 key, XSalsa20-Poly1305).
That is the shape of age and of libsodium's own documentation: nothing assembled here.

Bundles sealed by versions before format 3 (``shebao-envelope/1``) are still opened, for the
weeks when sites upgrade one after the other: their X25519 exchange is libsodium's
``crypto_scalarmult``, the key derivation RFC 5869's extract-and-expand over the standard
library's HMAC-SHA256, and AES-256-GCM is libsodium's. libsodium offers AES-GCM only on
CPUs with AES instructions (x86 AES-NI, ARMv8 crypto extensions); on one without them an
old sealed bundle is refused with a line asking the sender to export it again after upgrading.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Iterator
from typing import Any

import nacl.bindings as sodium
from nacl.exceptions import CryptoError
from nacl.exceptions import ValueError as NaclValueError

from shebao_desk.errors import ShebaoError

KEY_BYTES = 32
CHUNK = 64 * 1024  # plaintext bytes per stream chunk: memory stays at a few of them
CHUNK_SEALED = CHUNK + sodium.crypto_secretstream_xchacha20poly1305_ABYTES
STREAM_HEADER = sodium.crypto_secretstream_xchacha20poly1305_HEADERBYTES
_TAG_FINAL = sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL
_TAG_MESSAGE = sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE


class EnvelopeError(ShebaoError):
    pass


def _damaged(detail: str) -> EnvelopeError:
    return EnvelopeError("数据包已损坏或被改动，无法解密", detail)


# --- one key pair for signing and receiving ------------------------------------------

def box_public(ed25519_public: bytes) -> bytes:
    """The X25519 public key that receives for this Ed25519 (signing) public key."""
    if len(ed25519_public) != KEY_BYTES:
        raise EnvelopeError("公钥格式不对", "ed25519 public key must be 32 bytes")
    try:
        return sodium.crypto_sign_ed25519_pk_to_curve25519(ed25519_public)
    except (CryptoError, NaclValueError) as exc:
        raise EnvelopeError("公钥格式不对", f"not a usable ed25519 point: {exc!r}") from None


def box_secret(ed25519_seed: bytes) -> bytes:
    """The X25519 secret key of an Ed25519 seed (the clamped half of SHA-512(seed) Ed25519 signs with)."""
    public, secret = sodium.crypto_sign_seed_keypair(ed25519_seed)
    return sodium.crypto_sign_ed25519_sk_to_curve25519(secret)


# --- the content key, wrapped for each receiver --------------------------------------

def new_content_key() -> bytes:
    return sodium.crypto_secretstream_xchacha20poly1305_keygen()


def wrap_key(content_key: bytes, receiver_ed25519_public: bytes) -> bytes:
    return sodium.crypto_box_seal(content_key, box_public(receiver_ed25519_public))


def unwrap_key(wrapped: bytes, own_ed25519_seed: bytes) -> bytes:
    secret = box_secret(own_ed25519_seed)
    try:
        key = sodium.crypto_box_seal_open(wrapped, sodium.crypto_scalarmult_base(secret), secret)
    except (CryptoError, NaclValueError) as exc:
        raise _damaged(f"sealed key: {exc!r}") from None
    if len(key) != KEY_BYTES:
        raise _damaged("sealed key of the wrong length")
    return key


# --- the content, as a stream of authenticated chunks --------------------------------

def seal_stream(chunks: Iterable[bytes], key: bytes, ad: bytes) -> Iterator[bytes]:
    """The stream header, then each chunk (≤ CHUNK bytes) sealed; the last one carries the final tag."""
    state = sodium.crypto_secretstream_xchacha20poly1305_state()
    yield sodium.crypto_secretstream_xchacha20poly1305_init_push(state, key)
    pending: bytes | None = None
    for chunk in chunks:
        for i in range(0, len(chunk), CHUNK):
            if pending is not None:
                yield sodium.crypto_secretstream_xchacha20poly1305_push(state, pending, ad, _TAG_MESSAGE)
            pending = chunk[i:i + CHUNK]
    yield sodium.crypto_secretstream_xchacha20poly1305_push(state, pending or b"", ad, _TAG_FINAL)


def open_stream(sealed: Iterable[bytes], key: bytes, ad: bytes) -> Iterator[bytes]:
    """The plaintext chunks of :func:`seal_stream`'s output, given back in CHUNK_SEALED pieces
    (the stream header first); refuses a forged, reordered, cut or extended stream."""
    state = sodium.crypto_secretstream_xchacha20poly1305_state()
    pieces = iter(sealed)
    header = next(pieces, b"")
    if len(header) != STREAM_HEADER:
        raise _damaged("stream header missing")
    try:
        sodium.crypto_secretstream_xchacha20poly1305_init_pull(state, header, key)
        final = False
        for piece in pieces:
            if final:
                raise _damaged("data after the final chunk")
            plain, tag = sodium.crypto_secretstream_xchacha20poly1305_pull(state, piece, ad)
            final = tag == _TAG_FINAL
            yield plain
    except (CryptoError, NaclValueError) as exc:
        raise _damaged(f"stream: {exc!r}") from None
    if not final:
        raise _damaged("stream cut before its final chunk")


# --- bundles sealed before format 3 (read only) --------------------------------------

LEGACY_FORMAT = "shebao-envelope/1"
LEGACY_MAGIC = b'{"envelope": "' + LEGACY_FORMAT.encode() + b'"'


def is_legacy_envelope(data: bytes) -> bool:
    return data.lstrip()[:len(LEGACY_MAGIC)] == LEGACY_MAGIC


def _legacy_fingerprint(public: bytes) -> str:
    return hashlib.sha256(public).hexdigest()[:16]


def _extract_expand(shared: bytes, info: bytes) -> bytes:
    """RFC 5869 with SHA-256, no salt, 32 bytes out: what format 1 wrapped its content key with."""
    prk = hmac.new(b"\0" * 32, shared, hashlib.sha256).digest()
    return hmac.new(prk, info + b"\x01", hashlib.sha256).digest()


def _aes_gcm_open(sealed: bytes, aad: bytes, nonce: bytes, key: bytes) -> bytes:
    try:
        return sodium.crypto_aead_aes256gcm_decrypt(sealed, aad, nonce, key)
    except (CryptoError, NaclValueError) as exc:
        if not aes_gcm_available():
            raise EnvelopeError("本机处理器不支持旧版（升级前）加密数据包的解密；请对方升级工作台后重新导出",
                                "libsodium AES-256-GCM unavailable on this CPU") from None
        raise _damaged(f"legacy envelope: {exc!r}") from None


def aes_gcm_available() -> bool:
    try:
        sodium.crypto_aead_aes256gcm_encrypt(b"", b"", b"\0" * 12, b"\0" * 32)
    except (CryptoError, NaclValueError, RuntimeError):
        return False
    return True


def open_legacy_envelope(document: dict[str, Any], origin: str, own_ed25519_seed: bytes) -> bytes:
    """The signed bundle inside a format-1 envelope (already parsed, size-capped), if sealed for this site."""
    secret = box_secret(own_ed25519_seed)
    mine = sodium.crypto_scalarmult_base(secret)
    try:
        receivers = document["receivers"]
        entry = next((r for r in receivers if isinstance(r, dict) and r.get("origin") == origin
                      and r.get("key_fingerprint") == _legacy_fingerprint(mine)), None)
        if entry is None:
            raise EnvelopeError(f"此数据包不是发给本站（{origin}）的，无法打开",
                                f"receivers {[r.get('origin') for r in receivers if isinstance(r, dict)][:20]}")
        ephemeral = base64.b64decode(document["ephemeral"], validate=True)
        shared = sodium.crypto_scalarmult(secret, ephemeral)
        kek = _extract_expand(shared, b"shebao bundle key|" + origin.encode() + b"|" + ephemeral + mine)
        content_key = _aes_gcm_open(base64.b64decode(entry["key"], validate=True), origin.encode(),
                                    base64.b64decode(entry["nonce"], validate=True), kek)
        return _aes_gcm_open(base64.b64decode(document["body"], validate=True), LEGACY_FORMAT.encode(),
                             base64.b64decode(document["nonce"], validate=True), content_key)
    except EnvelopeError:
        raise
    except (CryptoError, NaclValueError, ValueError, KeyError, TypeError) as exc:
        raise _damaged(f"legacy envelope: {exc!r}") from None

