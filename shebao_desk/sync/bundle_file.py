"""The bundle file: header, signature and sealing, read with bounded work before any trust.

Format 3, one file::

    shebao-bundle/3\\n
    {header: origin, incarnation, number, the signer's full public key, created_at, the count
     of changes, the receivers (origin, public key, content key in a sealed box), the sealed
     payload's length and SHA-256, and the signature over all of that}\\n
    the payload: gzip of one change per line (JSON), sealed as a libsodium secretstream

Reading refuses before it trusts anything: the file's size before reading; the header only
from the first 64 KiB, its nesting counted before it is parsed; its signature before the
signer is looked up (:mod:`bundle`) and before one byte of the payload is read; then the
payload's length and hash, in chunks, before it is decrypted; then decryption, inflation and
parsing as a stream, each under a cap (total size, ratio, one change's size and nesting), so
memory stays at a few chunks whatever the file — from a stranger or from a pinned peer.

Formats before 3 (one JSON document, signed bundle ``shebao-bundle/2``, possibly inside a
``shebao-envelope/1``) are still read, only up to :data:`LEGACY_MAX` bytes.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import datetime as dt
import gzip
import hashlib
import json
import re
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nacl.exceptions import BadSignatureError
from nacl.exceptions import ValueError as NaclValueError
from nacl.signing import SigningKey, VerifyKey

from shebao_desk.config.site_config import load_site_config
from shebao_desk.errors import ShebaoError
from shebao_desk.sync.envelope import (
    CHUNK_SEALED, STREAM_HEADER, EnvelopeError, is_legacy_envelope, new_content_key, open_legacy_envelope,
    open_stream, seal_stream, unwrap_key, wrap_key,
)

FORMAT = "shebao-bundle/3"
LEGACY_FORMAT = "shebao-bundle/2"
MAGIC = FORMAT.encode() + b"\n"
SIGNED_CONTEXT = b"shebao-bundle/3 header\n"
HEADER_MAX = 64 * 1024
LEGACY_MAX = 16 * 1024 * 1024  # older formats are one JSON document: parsed whole, so kept small
CHANGE_MAX = 1024 * 1024  # one change, decoded (a photo is at most 40 KB)
NESTING_MAX = 10_000  # '{' and '[' in one change: what a change needs, far below what memory fears
RECEIVERS_MAX = 200
INFLATE_STEP = 1024 * 1024
ORIGIN = re.compile(r"[A-Za-z0-9]{2,16}")
LEGACY_HEADER = ("format", "origin", "incarnation", "number", "public_key", "created_at")
COLUMNS = ("change_id", "table_name", "row_id", "hlc", "origin", "values")
REFUSED = "，已拒绝导入，数据未改变"


class BundleError(ShebaoError):
    pass


@dataclass(frozen=True)
class Caps:
    max_bytes: int = 256 * 1024 * 1024
    max_ratio: int = 50
    skew: dt.timedelta = dt.timedelta(minutes=10)

    @classmethod
    def from_site(cls) -> Caps:
        cfg = load_site_config()
        return cls(cfg.bundle_max_mb * 1024 * 1024, cfg.bundle_max_ratio, dt.timedelta(minutes=cfg.clock_skew_minutes))


@dataclass(frozen=True)
class Receiver:
    """This site, as the one opening a bundle: its origin and its signing key's seed."""

    origin: str
    seed: bytes

    @property
    def public(self) -> bytes:
        return bytes(SigningKey(self.seed).verify_key)


def _damaged(path: Path, why: object) -> BundleError:
    return BundleError("数据包文件已损坏或不是工作台数据包，未导入任何数据", f"{path}: {why!r}"[:400])


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, ensure_ascii=True, separators=(",", ":")).encode()


def _stream_ad(header: dict[str, Any]) -> bytes:
    """What the sealed payload is bound to: whose bundle, which number (a payload moved under
    another header fails to decrypt)."""
    return _canonical([header["format"], header["origin"], header["incarnation"], header["number"],
                       header["public_key"]])


# --- writing -------------------------------------------------------------------------

def change_lines(changes: Iterable[dict[str, Any]]) -> bytes:
    """The payload before compression: one change per line (JSON never holds a raw newline)."""
    return b"".join(json.dumps(c, ensure_ascii=False, separators=(",", ":")).encode() + b"\n" for c in changes)


def seal_bundle(*, origin: str, incarnation: int, number: int, count: int, seed: bytes,
                receivers: dict[str, bytes], lines: bytes | None = None, compressed: bytes | None = None,
                created_at: str | None = None, window: str | None = None) -> bytes:
    """A format-3 bundle file: ``lines`` (or an already ``compressed`` payload) sealed for
    ``receivers`` (origin → Ed25519 public key) and signed with ``seed``."""
    if not receivers:
        raise BundleError("没有可加密的接收站点", "seal_bundle without receivers")
    signer = SigningKey(seed)
    if compressed is None:
        compressed = gzip.compress(lines or b"", mtime=0)
    header: dict[str, Any] = {"format": FORMAT, "origin": origin, "incarnation": incarnation, "number": number,
                              "public_key": bytes(signer.verify_key).hex(),
                              "created_at": created_at or dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(),
                              "changes": count}
    if window:  # the signer's window, for a store that relays its changes to central (sync.acceptance)
        header["window"] = window
    key = new_content_key()
    sealed = b"".join(seal_stream([compressed], key, _stream_ad(header)))
    header["receivers"] = [{"origin": o, "public_key": pk.hex(), "sealed_key": base64.b64encode(wrap_key(key, pk)).decode()}
                           for o, pk in sorted(receivers.items())]
    header["payload"] = {"bytes": len(sealed), "sha256": hashlib.sha256(sealed).hexdigest()}
    header["signature"] = signer.sign(SIGNED_CONTEXT + _canonical(header)).signature.hex()
    line = json.dumps(header, ensure_ascii=True, separators=(",", ":")).encode()
    return MAGIC + line + b"\n" + sealed


# --- reading: the header and its signature, before anything else --------------------

@dataclass
class BundleFile:
    """A bundle whose header is signed by the key it names (not yet: whether that key is trusted)."""

    path: Path
    header: dict[str, Any]
    offset: int = 0  # format 3: where the sealed payload starts
    legacy_payload: bytes | None = None  # formats before 3: the compressed payload, verified

    @property
    def sealed(self) -> bool:
        return self.legacy_payload is None

    def verify_payload(self) -> None:
        """Format 3: the sealed payload has the length and hash the signature covers (read in chunks)."""
        if self.legacy_payload is None:
            for _ in self._sealed_pieces():
                pass

    def changes(self, caps: Caps, receiver: Receiver) -> Iterator[dict[str, Any]]:
        """Every change, decrypted, inflated and parsed as a stream (a new pass at each call)."""
        if self.legacy_payload is not None:
            inflated = _inflate([self.legacy_payload], len(self.legacy_payload), caps, self.path)
            yield from (_shape(c, self.path) for c in _array_items(inflated, self.path))
            return
        key = self._content_key(receiver)
        plain = open_stream(self._sealed_pieces(), key, _stream_ad(self.header))
        compressed = self.header["payload"]["bytes"]
        for line in _lines(_inflate(_guard(plain, self.path), compressed, caps, self.path), self.path):
            yield _change(line, self.path)

    def _content_key(self, receiver: Receiver) -> bytes:
        mine = receiver.public.hex()
        entries = [r for r in self.header["receivers"] if r["origin"] == receiver.origin]
        entry = next((r for r in entries if r["public_key"] == mine), None)
        if entry is None:
            why = "（加密所用的本站公钥已不是本站现在的公钥）" if entries else ""
            raise BundleError(f"此数据包不是发给本站（{receiver.origin}）的，无法打开{why}；请对方登记本站的密钥码后重新导出",
                              f"{self.path}: receivers {[r['origin'] for r in self.header['receivers']][:20]}")
        try:
            wrapped = base64.b64decode(entry["sealed_key"], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise _damaged(self.path, exc) from None
        return unwrap_key(wrapped, receiver.seed)

    def _sealed_pieces(self) -> Iterator[bytes]:
        """The stream header, then each sealed chunk; at the end the length and hash are checked."""
        expected = self.header["payload"]
        digest, total = hashlib.sha256(), 0
        try:
            with self.path.open("rb") as f:
                f.seek(self.offset)
                size = STREAM_HEADER
                while piece := f.read(size):
                    digest.update(piece)
                    total += len(piece)
                    if total > expected["bytes"]:
                        raise _damaged(self.path, "payload longer than signed")
                    yield piece
                    size = CHUNK_SEALED
        except OSError as exc:
            raise BundleError(f"无法读取数据包文件 {self.path}：{exc.strerror}", repr(exc)) from None
        if total != expected["bytes"] or digest.hexdigest() != expected["sha256"]:
            raise BundleError(f"数据包内容与签名不符（文件被改动或损坏）{REFUSED}", f"{self.path}: payload hash")


def read_bundle_file(path: Path, caps: Caps, receiver: Receiver | None) -> BundleFile:
    """The header, its signature verified against the key it names. Reads at most 64 KiB
    (format 3) or :data:`LEGACY_MAX` bytes (older formats) whatever the file's size."""
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            start = f.read(len(MAGIC) + HEADER_MAX + 1)
            legacy = not start.startswith(MAGIC)
            if legacy and size > LEGACY_MAX:
                if size > caps.max_bytes:
                    raise _too_large(path, size, caps.max_bytes)
                raise _damaged(path, f"{size} bytes, not format 3 and beyond the legacy cap")
            rest = f.read(LEGACY_MAX) if legacy else b""
    except FileNotFoundError:
        raise BundleError(f"找不到数据包文件 {path}") from None
    except IsADirectoryError:
        raise BundleError(f"{path} 是文件夹，不是数据包文件") from None
    except OSError as exc:
        raise BundleError(f"无法读取数据包文件 {path}：{exc.strerror}", repr(exc)) from None
    if size > caps.max_bytes:
        raise _too_large(path, size, caps.max_bytes)
    if legacy:
        return _read_legacy(path, start + rest, receiver)
    end = start.find(b"\n", len(MAGIC))
    if end < 0:
        raise _damaged(path, "header line missing or beyond 64 KiB")
    header = _header(path, start[len(MAGIC):end])
    offset = end + 1
    if size - offset != header["payload"]["bytes"]:
        raise _damaged(path, f"payload {size - offset} bytes, header says {header['payload']['bytes']}")
    return BundleFile(path, header, offset=offset)


def _too_large(path: Path, size: int, cap: int) -> BundleError:
    return BundleError(f"数据包文件过大（{size // 1048576} MB，上限 {cap // 1048576} MB）{REFUSED}", f"{path}: {size} bytes")


def _bounded_json(data: bytes, nesting: int) -> Any:
    if data.count(b"{") + data.count(b"[") > nesting:
        raise ValueError("nested beyond the cap")
    return json.loads(data)


def _header(path: Path, line: bytes) -> dict[str, Any]:
    try:
        header = _bounded_json(line, 4 + 2 * RECEIVERS_MAX)
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise ValueError("not a format-3 header")
        _check_common(header)
        if type(header["changes"]) is not int or header["changes"] < 0:
            raise ValueError("bad count")
        payload, receivers = header["payload"], header["receivers"]
        if not (isinstance(payload, dict) and type(payload.get("bytes")) is int and isinstance(payload.get("sha256"), str)):
            raise ValueError("bad payload entry")
        if not isinstance(receivers, list) or not 0 < len(receivers) <= RECEIVERS_MAX or not all(
                isinstance(r, dict) and all(isinstance(r.get(k), str) for k in ("origin", "public_key", "sealed_key"))
                for r in receivers):
            raise ValueError("bad receivers")
        signature = bytes.fromhex(header["signature"])
        unsigned = {k: v for k, v in header.items() if k != "signature"}
        VerifyKey(bytes.fromhex(header["public_key"])).verify(SIGNED_CONTEXT + _canonical(unsigned), signature)
    except BadSignatureError:
        raise BundleError(f"数据包签名校验失败（文件被改动或损坏）{REFUSED}", f"{path}: bad signature") from None
    except (KeyError, TypeError, ValueError, NaclValueError, RecursionError, AttributeError) as exc:
        raise _damaged(path, exc) from None
    return header


def _check_common(header: dict[str, Any]) -> None:
    """The fields every format's header has, each of its kind."""
    for k in ("incarnation", "number"):
        if type(header[k]) is not int or not 0 <= header[k] < 2**31:
            raise ValueError(f"bad {k}")
    if header["number"] < 1 or not isinstance(header["origin"], str) or not ORIGIN.fullmatch(header["origin"]):
        raise ValueError("bad number or origin")
    if not isinstance(header["created_at"], str) or not isinstance(header["signature"], str) \
            or not isinstance(header["public_key"], str) or len(header["public_key"]) != 64:
        raise ValueError("bad created_at, key or signature")
    dt.datetime.fromisoformat(header["created_at"])


def _legacy_signed_bytes(header: dict[str, Any], payload: bytes) -> bytes:
    fields = [header["format"], header["origin"], str(header["incarnation"]), str(header["number"]),
              header["public_key"], header["created_at"]]
    return ("\n".join(fields) + "\n").encode() + payload


def _read_legacy(path: Path, raw: bytes, receiver: Receiver | None) -> BundleFile:
    """A bundle written before format 3: a flat JSON document, its payload signed with it; or
    the same inside a format-1 envelope (opened first, when sealed for this site)."""
    try:
        document = _bounded_json(raw, 4 + 2 * RECEIVERS_MAX)
        if isinstance(document, dict) and is_legacy_envelope(raw):
            if receiver is None:
                raise BundleError("此数据包已加密，只能由接收站点导入", f"{path}: sealed")
            del raw
            inner = open_legacy_envelope(document, receiver.origin, receiver.seed)
            del document
            document = _bounded_json(inner, 2)
            del inner
        if not isinstance(document, dict) or document.get("format") != LEGACY_FORMAT:
            raise ValueError("format "
                             f"{document.get('format') if isinstance(document, dict) else type(document).__name__!r}")
        header = {k: document[k] for k in LEGACY_HEADER}
        header["signature"] = document["signature"]
        _check_common(header)
        payload = base64.b64decode(document["payload"], validate=True)
        VerifyKey(bytes.fromhex(header["public_key"])).verify(_legacy_signed_bytes(header, payload),
                                                              bytes.fromhex(header["signature"]))
    except BadSignatureError:
        raise BundleError(f"数据包签名校验失败（文件被改动或损坏）{REFUSED}", f"{path}: bad signature") from None
    except (EnvelopeError, BundleError):
        raise
    except (KeyError, TypeError, ValueError, NaclValueError, RecursionError, AttributeError, binascii.Error) as exc:
        raise _damaged(path, exc) from None
    return BundleFile(path, header, legacy_payload=payload)


# --- the payload, as a stream ----------------------------------------------------------

def _guard(chunks: Iterator[bytes], path: Path) -> Iterator[bytes]:
    """Decryption errors (a cut, reordered or forged stream) said as a refused bundle."""
    try:
        yield from chunks
    except EnvelopeError as exc:
        raise BundleError(f"数据包内容无法解密（文件被改动或损坏）{REFUSED}", f"{path}: {exc.detail}") from None


def _inflate(chunks: Iterable[bytes], compressed: int, caps: Caps, path: Path) -> Iterator[bytes]:
    """gunzip, a step at a time, under a cap: a bomb stops at the cap, memory stays at one step."""
    cap = min(caps.max_bytes, max(compressed * caps.max_ratio, 1 << 20))
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    total = 0
    try:
        for chunk in chunks:
            data = chunk
            while True:
                if inflater.eof:
                    if data or inflater.unused_data:
                        raise zlib.error("trailing data")
                    break
                out = inflater.decompress(data, INFLATE_STEP)
                total += len(out)
                if total > cap:
                    raise BundleError(f"数据包解压后过大（超过 {cap // 1048576} MB，疑似压缩炸弹）{REFUSED}",
                                      f"{path}: inflated beyond {cap} bytes from {compressed}")
                if out:
                    yield out
                data = inflater.unconsumed_tail
                if not data and not out:
                    break
        if not inflater.eof:
            raise zlib.error("truncated")
    except zlib.error as exc:
        raise BundleError("数据包内容无法解压，未导入任何数据", f"{path}: {exc!r}") from None


def _too_big_change(path: Path, size: int) -> BundleError:
    return BundleError(f"数据包中有一条变更过大（超过 {CHANGE_MAX // 1024} KB）{REFUSED}", f"{path}: change of {size}+ bytes")


def _lines(chunks: Iterable[bytes], path: Path) -> Iterator[bytes]:
    buffer = bytearray()
    for chunk in chunks:
        buffer += chunk
        start = 0
        while (end := buffer.find(b"\n", start)) >= 0:
            yield bytes(buffer[start:end])
            start = end + 1
        del buffer[:start]
        if len(buffer) > CHANGE_MAX:
            raise _too_big_change(path, len(buffer))
    if buffer.strip():
        yield bytes(buffer)


def _change(line: bytes, path: Path) -> dict[str, Any]:
    if len(line) > CHANGE_MAX:
        raise _too_big_change(path, len(line))
    try:
        value = _bounded_json(line, NESTING_MAX)
    except (ValueError, RecursionError) as exc:
        raise BundleError("数据包内容无法解析，未导入任何数据", f"{path}: {exc!r}"[:400]) from None
    return _shape(value, path)


def _array_items(chunks: Iterable[bytes], path: Path) -> Iterator[Any]:
    """The items of a JSON array (the payload of formats before 3), one at a time."""
    decoder, utf8 = json.JSONDecoder(), codecs.getincrementaldecoder("utf-8")()
    text, pos, state = "", 0, "start"  # start → item ⇄ comma → end
    try:
        for chunk in chunks:
            text = text[pos:] + utf8.decode(chunk)
            pos = 0
            while True:
                while pos < len(text) and text[pos] in " \t\r\n":
                    pos += 1
                if pos == len(text):
                    break
                if state == "end":
                    raise ValueError("data after the array")
                if state == "start":
                    if text[pos] != "[":
                        raise ValueError("payload is not a list")
                    pos, state = pos + 1, "first"
                elif state in ("comma", "first") and text[pos] == "]":
                    pos, state = pos + 1, "end"
                elif state == "comma":
                    if text[pos] != ",":
                        raise ValueError("items not separated by commas")
                    pos, state = pos + 1, "item"
                else:
                    try:
                        item, pos = decoder.raw_decode(text, pos)
                    except ValueError:
                        if len(text) - pos > CHANGE_MAX:
                            raise _too_big_change(path, len(text) - pos) from None
                        break  # the item continues in the next chunk
                    state = "comma"
                    yield item
        if state != "end" or text[pos:].strip():
            raise ValueError("array not closed")
    except UnicodeDecodeError as exc:
        raise BundleError("数据包内容无法解析，未导入任何数据", f"{path}: {exc!r}") from None
    except ValueError as exc:
        raise BundleError("数据包内容格式不对，未导入任何数据", f"{path}: {exc}") from None


def _shape(c: Any, path: Path) -> dict[str, Any]:
    if not (isinstance(c, dict) and set(c) == set(COLUMNS) and isinstance(c["values"], dict)
            and all(isinstance(c[k], str) for k in COLUMNS if k != "values")):
        raise BundleError("数据包内容格式不对，未导入任何数据", f"{path}: malformed change {str(c)[:200]}")
    return c
