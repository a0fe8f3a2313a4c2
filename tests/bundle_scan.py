"""Readable ID numbers in bundle files, as a finder of a lost USB stick would look: the raw bytes,
every base64 run decoded, every gzip stream inflated (zcat), and the two combined."""

from __future__ import annotations

import base64
import re
import zlib
from pathlib import Path

from shebao_desk.rules.idnumber import check_digit

# Not inside a longer run of hex digits: a bundle's signature and keys are hex, and 18 digits in a row
# with a right check digit turn up in one bundle of a few hundred by chance (2026-12-06: a signature's
# "...c944c493491934230039732d579..." failed a run). An ID number in text stands between quotes,
# commas, spaces or Chinese characters.
ID = re.compile(rb"(?<![0-9A-Fa-f])([1-9][0-9]{16})([0-9Xx])(?![0-9A-Fa-f])")
BASE64_RUN = re.compile(rb"[A-Za-z0-9+/]{40,}={0,2}")
BUNDLE_STARTS = (b"shebao-bundle/", b'{"format"', b'{"envelope"', b"{\n \"format\"")


def _ids(data: bytes) -> set[str]:
    """18-digit numbers whose check digit is right: ID numbers, not chance digits."""
    return {(a + b).decode() for a, b in ID.findall(data) if check_digit(a.decode()) == b.decode().upper()}


def _gunzipped(data: bytes) -> list[bytes]:
    out = []
    start = data.find(b"\x1f\x8b")
    while start >= 0 and len(out) < 20:
        try:
            inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            out.append(inflater.decompress(data[start:], 64 << 20))
        except zlib.error:
            pass
        start = data.find(b"\x1f\x8b", start + 2)
    return out


def readable_ids(data: bytes) -> set[str]:
    found = _ids(data)
    for layer in [data, *_gunzipped(data)]:
        for run in BASE64_RUN.findall(layer):
            try:
                decoded = base64.b64decode(run + b"=" * (-len(run) % 4))
            except ValueError:
                continue
            found |= _ids(decoded)
            for inflated in _gunzipped(decoded):
                found |= _ids(inflated)
        found |= _ids(layer)
    return found


def bundle_files(root: Path) -> list[Path]:
    """Files under ``root`` that are bundles by their first bytes, whatever their name."""
    out = []
    for path in root.rglob("*"):
        try:
            if path.is_file() and not path.is_symlink() and path.stat().st_size < (200 << 20):
                with path.open("rb") as f:
                    if f.read(16).startswith(BUNDLE_STARTS):
                        out.append(path)
        except OSError:
            continue
    return out


def leaks(root: Path) -> dict[Path, set[str]]:
    return {p: ids for p in bundle_files(root) if (ids := readable_ids(p.read_bytes()))}
