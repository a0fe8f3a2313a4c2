"""The resident ID card reader (二代证阅读器) over its serial port, GA 467 security-module protocol.

Frames (DOMAIN.md §5): preamble ``AA AA AA 96 69``, a 2-byte big-endian length, then
CMD PARA data (command) or SW1 SW2 SW3 data (answer), and a checksum that XORs every byte
from the length to the end of the data. A read is three commands: find card, select card,
read text + photo. The 256-byte text block is UCS-2 little-endian, space-padded.

The same readers read three documents (rules/id_documents.py); the 证件类型标识, one UCS-2
character at bytes 248–249 of the text block, says which layout the block has: blank for the
resident ID card (those bytes are in its reserved area), ``J`` for the residence permit of Hong
Kong, Macao and Taiwan residents, ``I`` for the 2017 foreigner's permanent residence ID card and
``Y`` for the 2023 one. Layouts from the public descriptions cited beside each.

No Qt here. A vendor SDK (``termb`` DLL/.so) could be a second adapter with the same
``read_id_card(port) -> IdCardInfo`` shape; the serial protocol is the default.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import glob
import logging
import os
from dataclasses import asdict, dataclass
from typing import Any

from shebao_desk.devices.errors import DeviceError
from shebao_desk.rules.id_documents import IdDocument
from shebao_desk.rules.idnumber import mask_id_number

log = logging.getLogger(__name__)

try:  # a pulled pty/USB port fails tcdrain with termios.error, which is not an OSError (POSIX only)
    from termios import error as _TermiosError
    PORT_ERRORS: tuple[type[BaseException], ...] = (OSError, _TermiosError)
except ImportError:  # Windows
    PORT_ERRORS = (OSError,)

PREAMBLE = bytes.fromhex("AAAAAA9669")
BAUD = 115200
ANSWER_TIMEOUT_S = 3.0

FIND, SELECT, READ = (0x20, 0x01), (0x20, 0x02), (0x30, 0x01)
OK, CARD_FOUND = b"\x00\x00\x90", b"\x00\x00\x9f"
STATUS_TEXT = {  # SW3 → what happened, for the log
    0x80: "no card found", 0x81: "select failed", 0x41: "read failed", 0x10: "reader saw a checksum error",
    0x11: "reader saw a length error", 0x21: "unknown command",
}
TEXT_LEN, PHOTO_LEN = 256, 1024
TYPE_FLAG = slice(248, 250)  # 证件类型标识: one UCS-2 character, at the same place in every layout
# (field, bytes) in block order; "" is reserved. DOMAIN.md §5 (the resident ID card).
TEXT_FIELDS = (("name", 30), ("sex", 2), ("ethnicity", 4), ("birth_date", 16), ("address", 70),
               ("id_number", 36), ("authority", 30), ("valid_from", 16), ("valid_to", 16), ("", 36))
# 港澳台居民居住证 ('J'): 《港澳台居民居住证机读信息规范（试行版）》 as public reader code lays it out (the ethnicity
# bytes reserved; then 通行证号码 18, 签发次数 4, reserved 6, type 2, reserved 6), e.g. the vendor header
# t_idcardinfor and an Android reader's analysiGATCardInfo; the items are those of the permit (国办 2018, Art. 3).
HMT_FIELDS = (("name", 30), ("sex", 2), ("", 4), ("birth_date", 16), ("address", 70), ("id_number", 36),
              ("authority", 30), ("valid_from", 16), ("valid_to", 16), ("pass_number", 18), ("issue_count", 4),
              ("", 6), ("type", 2), ("", 6))
# 外国人永久居留身份证, 2017 ('I'): the machine-readable items table published at its launch (afzhan.com
# news_212938, 2017-07-03): English name 120, sex 2, number 30 (15 characters), nationality 6 (GB/T 2659),
# Chinese name 30, issued 16, expires 16, born 16, card version 4, accepting authority's code 8, type 2 ("I"),
# reserved 6; the same in yechangpeng/Paperless Centerm/IDCardDef.h.
FOREIGN_2017_FIELDS = (("english_name", 120), ("sex", 2), ("id_number", 30), ("nationality", 6), ("name", 30),
                       ("valid_from", 16), ("valid_to", 16), ("birth_date", 16), ("card_version", 4),
                       ("authority", 8), ("type", 2), ("", 6))
# 外国人永久居留身份证, 2023 ('Y', issued since 2023-12-01): 《新版外国人永久居留身份证机读信息规则（2023版）》 as
# the reader vendors published it (eastcoms.com pro/840) and a vendor header (t_idforeigner2023): Chinese name 30,
# sex 2, renewals 4, born 16, English name 70 (characters 1–35), number 36 (18 digits, first 9), reserved 30,
# issued 16, expires 16, English name 22 (characters 36–46), nationality 6, type 2 ("Y"), former number link 6.
FOREIGN_2023_FIELDS = (("name", 30), ("sex", 2), ("renewals", 4), ("birth_date", 16), ("english_name", 70),
                       ("id_number", 36), ("", 30), ("valid_from", 16), ("valid_to", 16), ("english_name_2", 22),
                       ("nationality", 6), ("type", 2), ("", 6))
LAYOUTS = {"": (IdDocument.RESIDENT, TEXT_FIELDS), "J": (IdDocument.HMT_RESIDENCE, HMT_FIELDS),
           "I": (IdDocument.FOREIGN_PERMANENT, FOREIGN_2017_FIELDS),
           "Y": (IdDocument.FOREIGN_PERMANENT, FOREIGN_2023_FIELDS)}
LONG_TERM = "长期"


class IdCardError(DeviceError):
    """The ID card reader or card refused; ``message`` is the clerk's sentence."""


class IdReaderGoneError(IdCardError):
    def __init__(self, port: str, detail: str) -> None:
        super().__init__("身份证阅读器未连接或已拔出，请检查连接线", f"{port}: {detail}")


class NoIdCardError(IdCardError):
    def __init__(self, detail: str = "no card found") -> None:
        super().__init__("身份证阅读器上没有身份证，请把身份证放在阅读器上", detail)


class IdFrameError(IdCardError):
    def __init__(self, detail: str) -> None:
        super().__init__("身份证阅读器应答有误（校验错误），请把身份证重新放一次后再读", detail)


class UnknownIdDocumentError(IdCardError):
    def __init__(self, flag: str) -> None:
        super().__init__(f"阅读器上的证件不是居民身份证、港澳台居民居住证或外国人永久居留身份证（证件类型标识“{flag}”），"
                         "请核对证件", f"unknown type flag {flag.encode('utf-16-le').hex()}")


@dataclass(frozen=True)
class IdCardInfo:
    name: str
    sex: str  # GB/T 2261.1 code: 1 男, 2 女
    ethnicity: str  # GB 3304 two-digit code
    birth_date: dt.date
    address: str
    id_number: str
    authority: str
    valid_from: dt.date
    valid_to: dt.date | None  # None: 长期 (valid without end)
    photo_wlt: bytes = b""
    kind: IdDocument = IdDocument.RESIDENT
    # What only some documents carry ("" on the others): the foreigner's ID has an English name, a
    # nationality (GB/T 2659) and a version; the residence permit the travel permit's number and 签发次数.
    english_name: str = ""
    nationality: str = ""
    card_version: str = ""
    pass_number: str = ""
    issue_count: str = ""

    @property
    def sex_label(self) -> str:
        return {"1": "男", "2": "女"}.get(self.sex, "未知")

    @property
    def kind_name(self) -> str:
        return self.kind.label

    def expired(self, today: dt.date) -> bool:
        return self.valid_to is not None and self.valid_to < today

    def validity_problem(self, today: dt.date) -> str | None:
        """The clerk's sentence when the card cannot serve as proof of identity today."""
        if self.valid_from > today:
            return f"身份证有效期自 {self.valid_from:%Y-%m-%d} 起，尚未生效"
        if self.expired(today):
            return f"身份证已于 {self.valid_to:%Y-%m-%d} 过期，请申请人出示有效身份证件"
        return None

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("photo_wlt")
        for key in ("birth_date", "valid_from"):
            out[key] = out[key].isoformat()
        out["valid_to"] = self.valid_to.isoformat() if self.valid_to else LONG_TERM
        out["kind"], out["kind_name"] = self.kind.value, self.kind.label
        return out


# -- frames -------------------------------------------------------------------

def checksum(body: bytes) -> int:
    value = 0
    for byte in body:
        value ^= byte
    return value


def command_frame(cmd: int, para: int, data: bytes = b"") -> bytes:
    body = (len(data) + 3).to_bytes(2, "big") + bytes([cmd, para]) + data
    return PREAMBLE + body + bytes([checksum(body)])


def split_answer(length_and_rest: bytes) -> tuple[bytes, bytes]:
    """(status, data) from the bytes after the preamble; raises on a bad checksum or length."""
    if len(length_and_rest) < 2 + 4:
        raise IdFrameError(f"answer too short: {length_and_rest.hex()}")
    length = int.from_bytes(length_and_rest[:2], "big")
    if len(length_and_rest) != 2 + length:
        raise IdFrameError(f"answer length {len(length_and_rest) - 2} != declared {length}")
    if checksum(length_and_rest[:-1]) != length_and_rest[-1]:
        raise IdFrameError(f"answer checksum {length_and_rest[-1]:02X} != {checksum(length_and_rest[:-1]):02X}")
    return length_and_rest[2:5], length_and_rest[5:-1]


# -- the text block -------------------------------------------------------------

def _date(text: str, field: str) -> dt.date:
    try:
        return dt.datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        raise IdFrameError(f"{field} is not YYYYMMDD: {text!r}") from None


def _text(raw: bytes, name: str) -> str:
    try:
        return raw.decode("utf-16-le").strip(" \x00")
    except UnicodeDecodeError as exc:
        raise IdFrameError(f"{name} is not UCS-2: {exc}") from None


def _fields(block: bytes, layout: tuple[tuple[str, int], ...]) -> dict[str, str]:
    fields: dict[str, str] = {}
    offset = 0
    for name, size in layout:
        if name:
            fields[name] = _text(block[offset:offset + size], name)
        offset += size
    assert offset == TEXT_LEN, "every layout covers the 256-byte block"
    return fields


def _english_name(block: bytes, layout: tuple[tuple[str, int], ...], f: dict[str, str]) -> str:
    """The English name; the 2023 card splits it after its 35th character, which may be a space."""
    if not f.get("english_name_2"):
        return f.get("english_name", "")
    offset = 0
    for name, size in layout:
        if name == "english_name":
            # Characters 1-35 fill their 70 bytes when a second part follows: no padding to strip.
            return block[offset:offset + size].decode("utf-16-le").lstrip(" \x00") + f["english_name_2"]
        offset += size
    raise AssertionError("english_name_2 without english_name")


def decode_text(block: bytes, photo: bytes = b"") -> IdCardInfo:
    if len(block) != TEXT_LEN:
        raise IdFrameError(f"text block is {len(block)} bytes, not {TEXT_LEN}")
    flag = _text(block[TYPE_FLAG], "type flag")
    if flag not in LAYOUTS:
        raise UnknownIdDocumentError(flag)
    kind, layout = LAYOUTS[flag]
    f = _fields(block, layout)
    valid_to = f["valid_to"]
    return IdCardInfo(
        name=f["name"] or f.get("english_name", ""), sex=f["sex"], ethnicity=f.get("ethnicity", ""),
        birth_date=_date(f["birth_date"], "birth_date"), address=f.get("address", ""),
        id_number=f["id_number"].upper(), authority=f.get("authority", ""),
        valid_from=_date(f["valid_from"], "valid_from"),
        valid_to=None if valid_to == LONG_TERM else _date(valid_to, "valid_to"),
        photo_wlt=photo, kind=kind, english_name=_english_name(block, layout, f),
        nationality=f.get("nationality", ""), card_version=f.get("card_version", ""),
        pass_number=f.get("pass_number", ""), issue_count=f.get("issue_count", ""),
    )


# -- the port -------------------------------------------------------------------

class IdCardReader:
    """One open serial port to a GA 467 reader."""

    def __init__(self, port: str, timeout: float = ANSWER_TIMEOUT_S) -> None:
        import serial  # noqa: PLC0415 - optional: pyserial, so the core imports without it
        self.port_name = port
        self._serial_exception = serial.SerialException
        try:
            self.port = serial.serial_for_url(port, baudrate=BAUD, bytesize=8, parity="N", stopbits=1,
                                              timeout=timeout)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise IdReaderGoneError(port, f"open failed: {exc}") from None

    def close(self) -> None:
        try:
            self.port.close()
        except (self._serial_exception, OSError):
            pass

    def __enter__(self) -> "IdCardReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _read_exact(self, n: int) -> bytes:
        data: bytes = self.port.read(n)  # pyserial has no type information
        if len(data) != n:
            raise IdReaderGoneError(self.port_name, f"timed out: wanted {n} bytes, got {len(data)}")
        return data

    def transact(self, cmd: int, para: int, data: bytes = b"") -> tuple[bytes, bytes]:
        frame = command_frame(cmd, para, data)
        try:
            self.port.reset_input_buffer()
            self.port.write(frame)
            self.port.flush()
            window = b""
            while window != PREAMBLE:  # skip any noise before the preamble
                window = (window + self._read_exact(1))[-len(PREAMBLE):]
            head = self._read_exact(2)
            rest = self._read_exact(int.from_bytes(head, "big"))
        except (self._serial_exception, *PORT_ERRORS) as exc:
            raise IdReaderGoneError(self.port_name, f"{cmd:02X} {para:02X}: {exc}") from None
        status, payload = split_answer(head + rest)
        log.debug("GA467 %02X %02X -> %s (%d bytes)", cmd, para, status.hex(), len(payload))
        return status, payload

    def find_card(self) -> None:
        status, _ = self.transact(*FIND)
        if status != CARD_FOUND:
            raise NoIdCardError(f"find card: {status.hex()} {STATUS_TEXT.get(status[2], '')}")

    def select_card(self) -> None:
        status, _ = self.transact(*SELECT)
        if status != OK:
            raise NoIdCardError(f"select card: {status.hex()} {STATUS_TEXT.get(status[2], '')}")

    def read_text_photo(self) -> IdCardInfo:
        status, payload = self.transact(*READ)
        if status != OK:
            raise IdCardError("读身份证失败，请把身份证放稳后再读",
                              f"read: {status.hex()} {STATUS_TEXT.get(status[2], '')}")
        if len(payload) < 4:
            raise IdFrameError(f"read answer has {len(payload)} data bytes")
        text_len, photo_len = int.from_bytes(payload[:2], "big"), int.from_bytes(payload[2:4], "big")
        if len(payload) != 4 + text_len + photo_len:
            raise IdFrameError(f"read answer: {len(payload)} bytes for text {text_len} + photo {photo_len}")
        return decode_text(payload[4:4 + text_len], payload[4 + text_len:])


def read_id_card(port: str, timeout: float = ANSWER_TIMEOUT_S) -> IdCardInfo:
    """Find, select and read the card on the reader at ``port`` (``/dev/ttyUSB0``, ``COM3``, a pty)."""
    with IdCardReader(port, timeout) as reader:
        reader.find_card()
        reader.select_card()
        info = reader.read_text_photo()
    log.info("ID card read on %s: %s", port, mask_id_number(info.id_number))
    return info


def find_idcard_port() -> str:
    """SHEBAO_IDCARD_PORT, else the only USB serial port there is; "" when unsure."""
    if os.environ.get("SHEBAO_IDCARD_PORT"):
        return os.environ["SHEBAO_IDCARD_PORT"]
    ports = sorted(glob.glob("/dev/ttyUSB*") + glob.glob("/dev/ttyACM*"))
    return ports[0] if len(ports) == 1 else ""


PHOTO_NOT_SHOWN = "身份证照片为厂商专用压缩格式，本机未安装厂商解码库，不显示身份证照片"


def decode_photo(wlt: bytes, library: str | None) -> bytes | None:
    """BMP bytes through the vendor's licensed WLT decoder, or None when none is configured.

    The decoders differ by vendor; the one this adapter expects exports
    ``int unpack(char *wlt, char *bmp, int flag)`` (1024 bytes in, 38862-byte 102×126 BMP out),
    as the common ``libwlt``/``WltRS`` builds do.
    """
    if not library or len(wlt) != PHOTO_LEN:
        return None
    try:
        lib = ctypes.CDLL(library)
        out = ctypes.create_string_buffer(38862)
        if lib.unpack(ctypes.c_char_p(wlt), out, 602) != 1:
            return None
        return out.raw
    except (OSError, AttributeError) as exc:
        log.warning("WLT decoder %s unusable: %s", library, exc)
        return None
