"""A simulated resident ID card reader on a pseudo-terminal, for tests and training.

It answers GA 467 frames exactly as DOMAIN.md §5 writes them down (the byte layouts
below are copied from there on purpose, not imported from :mod:`idcard`, so a mistake in
the reader cannot hide behind the same mistake here). The client opens the pty's slave
path like any serial port: ``/dev/pts/N``.

Cards are TOML files (resources/idcards/); ``type_flag`` ("" resident ID card, "J" residence permit for
Hong Kong, Macao and Taiwan residents, "I"/"Y" foreigner's permanent residence ID, 2017/2023) picks
the text block's layout. Faults for tests: ``corrupt_checksum`` spoils
the checksum of every answer; ``pull_on_read`` closes the port when the read command comes,
as a USB reader pulled out mid-read.
"""

from __future__ import annotations

import os
import select
import threading
import tomllib
import tty
from pathlib import Path

HEAD = bytes([0xAA, 0xAA, 0xAA, 0x96, 0x69])
# DOMAIN.md §5: name 30, sex 2, ethnicity 4, birth 16, address 70, ID number 36, authority 30,
# valid from 16, valid to 16, reserved 36 → 256 bytes of UCS-2 LE, space-padded.
BLOCK = (("name", 30), ("sex", 2), ("ethnicity", 4), ("birth_date", 16), ("address", 70), ("id_number", 36),
         ("authority", 30), ("valid_from", 16), ("valid_to", 16), ("", 36))
# The other documents a GA 467 reader reads, each from its public description (not from devices/idcard.py);
# the card file's ``type_flag`` picks one, and is written as the block's 证件类型标识.
BLOCKS = {
    "": BLOCK,
    # 港澳台居民居住证: the permit's items (国办《港澳台居民居住证申领发放办法》Art. 3: 签发次数 and the
    # 港澳台居民出入境证件号码 besides the resident card's) in the reader vendors' layout: the ethnicity
    # place reserved, then the travel permit's number 18, 签发次数 4, reserved 6, flag "J", reserved 6.
    "J": (("name", 30), ("sex", 2), ("", 4), ("birth_date", 16), ("address", 70), ("id_number", 36),
          ("authority", 30), ("valid_from", 16), ("valid_to", 16), ("pass_number", 18), ("issue_count", 4),
          ("", 6), ("type_flag", 2), ("", 6)),
    # 外国人永久居留身份证 (2017): the machine-readable items table published with it: English name 120,
    # sex 2, number 30, nationality 6, Chinese name 30, issued 16, ends 16, born 16, version 4,
    # authority code 8, flag "I" 2, reserved 6.
    "I": (("english_name", 120), ("sex", 2), ("id_number", 30), ("nationality", 6), ("name", 30),
          ("valid_from", 16), ("valid_to", 16), ("birth_date", 16), ("card_version", 4), ("authority", 8),
          ("type_flag", 2), ("", 6)),
    # 外国人永久居留身份证 (2023): Chinese name 30, sex 2, renewals 4, born 16, English name 70, number 36,
    # reserved 30, issued 16, ends 16, English name continued 22, nationality 6, flag "Y" 2, former number 6.
    "Y": (("name", 30), ("sex", 2), ("renewals", 4), ("birth_date", 16), ("english_name", 70), ("id_number", 36),
          ("", 30), ("valid_from", 16), ("valid_to", 16), ("english_name_2", 22), ("nationality", 6),
          ("type_flag", 2), ("", 6)),
}


def layout(card: dict[str, str]) -> tuple[tuple[str, int], ...]:
    flag = str(card.get("type_flag", ""))
    if flag not in BLOCKS:
        raise ValueError(f"type_flag {flag!r} is none of {sorted(BLOCKS)}")
    return BLOCKS[flag]


def load_card(path: Path) -> dict[str, str]:
    with open(path, "rb") as f:
        card = tomllib.load(f)
    try:
        fields = layout(card)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
    for field, size in fields:
        if field and len(str(card.get(field, "")).encode("utf-16-le")) > size:
            raise ValueError(f"{path}: {field} longer than {size} bytes")
    return card


def text_block(card: dict[str, str]) -> bytes:
    out = b""
    for field, size in layout(card):
        raw = str(card.get(field, "")).encode("utf-16-le") if field else b""
        out += raw + " ".encode("utf-16-le") * ((size - len(raw)) // 2)
    assert len(out) == 256
    return out


def fake_photo(card: dict[str, str]) -> bytes:
    """1024 bytes standing in for the WLT-compressed photo (only vendors' decoders read real ones)."""
    seed = card.get("id_number", "0").encode()
    return (seed * (1024 // len(seed) + 1))[:1024]


def answer(sw3: int, data: bytes = b"", corrupt: bool = False) -> bytes:
    body = (3 + len(data) + 1).to_bytes(2, "big") + bytes([0x00, 0x00, sw3]) + data
    chk = 0
    for b in body:
        chk ^= b
    return HEAD + body + bytes([chk ^ (0xFF if corrupt else 0)])


class IdCardSimulator:
    def __init__(self, card: dict[str, str] | None = None, *, corrupt_checksum: bool = False,
                 pull_on_read: bool = False) -> None:
        self.card = card
        self.corrupt_checksum = corrupt_checksum
        self.pull_on_read = pull_on_read
        self.commands: list[bytes] = []  # (CMD, PARA) of every frame received, for tests
        self._master = self._slave = -1
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.path = ""

    def start(self) -> str:
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)  # no echo, no newline translation: the bytes are binary
        self.path = os.ttyname(self._slave)
        self._thread = threading.Thread(target=self._serve, name="idcard-sim", daemon=True)
        self._thread.start()
        return self.path

    def put(self, card: dict[str, str] | None) -> None:
        self.card = card

    def pull(self) -> None:
        """The reader is unplugged: the port vanishes."""
        self._stop.set()
        for fd in (self._master, self._slave):
            try:
                os.close(fd)
            except OSError:
                pass
        self._master = self._slave = -1

    def stop(self) -> None:
        self.pull()
        if self._thread:
            self._thread.join(2)

    def __enter__(self) -> "IdCardSimulator":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _serve(self) -> None:
        buffer = b""
        master = self._master
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([master], [], [], 0.1)
                if not ready:
                    continue
                buffer += os.read(master, 4096)
            except (OSError, ValueError):
                return
            while True:
                start = buffer.find(HEAD)
                if start < 0 or len(buffer) < start + 7:
                    break
                length = int.from_bytes(buffer[start + 5:start + 7], "big")
                end = start + 7 + length
                if len(buffer) < end:
                    break
                frame, buffer = buffer[start:end], buffer[end:]
                reply = self._reply(frame)
                if reply is None:
                    return
                try:
                    os.write(master, reply)
                except OSError:
                    return

    def _reply(self, frame: bytes) -> bytes | None:
        body, chk = frame[5:-1], frame[-1]
        x = 0
        for b in body:
            x ^= b
        if x != chk:
            return answer(0x10)
        if len(body) < 4:
            return answer(0x11)
        cmd = body[2:4]
        self.commands.append(cmd)
        bad = self.corrupt_checksum
        if cmd == b"\x20\x01":  # find card
            return answer(0x9F, bytes(4), bad) if self.card else answer(0x80, b"", bad)
        if cmd == b"\x20\x02":  # select card
            return answer(0x90, bytes(8), bad) if self.card else answer(0x81, b"", bad)
        if cmd == b"\x30\x01":  # read text + photo
            if self.pull_on_read:
                self.pull()
                return None
            if not self.card:
                return answer(0x41, b"", bad)
            data = (256).to_bytes(2, "big") + (1024).to_bytes(2, "big") + text_block(self.card) + fake_photo(self.card)
            return answer(0x90, data, bad)
        if cmd in (b"\x12\xff", b"\x11\xff"):  # reset, status
            return answer(0x90, b"", bad)
        return answer(0x21, b"", bad)
