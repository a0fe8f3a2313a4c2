"""Logs leak nothing: no password (even typed into the username field), no whole ID number, no name."""

from __future__ import annotations

import logging
import time

import pytest

from shebao_desk.services.auth import create_clerk, login
from shebao_desk.errors import AuthError
from shebao_desk.logsetup import TRAFFIC, MaskIdNumbers, MaskingFormatter, surname
from shebao_desk.models import Role

ID = "610102198005170019"  # written out here, not made by the code under test
NAME = "李秀英"


@pytest.fixture
def log_text(tmp_path, monkeypatch):
    """A real log file set up the way the program sets it up, and a way to read it back."""
    import shebao_desk.logsetup as logsetup
    monkeypatch.setattr(logsetup, "log_file", lambda: tmp_path / "logs" / "shebao-desk.log")
    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    logsetup.setup_logging("TRAFFIC")
    yield lambda: (tmp_path / "logs" / "shebao-desk.log").read_text(encoding="utf-8")
    for h in root.handlers[len(before):]:
        h.close()
        root.removeHandler(h)
    root.setLevel(level)


def _try(store, username, password):
    try:
        return login(store, username, password, max_failures=5, lockout_minutes=15)
    except AuthError as exc:
        return exc


def test_password_typed_into_the_username_field_never_reaches_the_log(store, log_text, monkeypatch):
    with store.unit(None, "A", "setup") as s:
        create_clerk(s, "admin", "管理员", "Corr3ctHorse", Role.ADMIN)
    refused = _try(store, "Corr3ctHorse", "")  # the password, in the wrong field
    assert isinstance(refused, AuthError)
    logging.getLogger("shebao_desk.ui.errors").warning("%s: %s", type(refused).__name__, refused.detail)
    assert "Corr3ctHorse" not in log_text()
    assert "login refused" in log_text()


def test_unknown_user_and_wrong_password_look_the_same(store):
    with store.unit(None, "A", "setup") as s:
        create_clerk(s, "admin", "管理员", "secret123", Role.ADMIN)
    _try(store, "nobody", "x")  # warm up
    times = {}
    for who in ("nobody", "admin"):
        start = time.perf_counter()
        err = _try(store, who, "wrong-pass1")
        times[who] = time.perf_counter() - start
        assert err.message.startswith("用户名或密码错误")
    # The same Argon2 work both ways (was 0.2 ms vs 180 ms): within a factor of 3, not 900.
    assert times["nobody"] > times["admin"] / 3


def test_tracebacks_are_masked(log_text):
    try:
        raise ValueError(f"bad person {ID}")
    except ValueError:
        logging.getLogger("t").error("start failed", exc_info=True)
    text = log_text()
    assert ID not in text and "ValueError" in text and "6101**********0019" in text


def test_apdu_trace_hides_id_number_and_name_as_hex(log_text):
    log = logging.getLogger("shebao_desk.devices.apdu")
    log.log(TRAFFIC, "< %s %04X", (b"\x5f\x08\x12" + ID.encode()).hex().upper(), 0x9000)
    log.log(TRAFFIC, "< %s %04X", (b"\x5f\x09\x06" + NAME.encode("gbk")).hex().upper(), 0x9000)
    log.log(TRAFFIC, "< %s %04X", (b"\x5f\x09\x09" + NAME.encode("utf-8")).hex().upper(), 0x9000)
    log.log(TRAFFIC, "> %s", "00A4040009A00000000386980701")  # a SELECT stays readable
    text = log_text()
    assert ID.encode().hex().upper() not in text
    assert NAME.encode("gbk").hex().upper() not in text and NAME.encode("utf-8").hex().upper() not in text
    assert text.count("bytes personal data") == 3
    assert "00A4040009A00000000386980701" in text


def test_foreign_handlers_get_the_filter_and_names_shorten_to_the_surname():
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "person %s", (ID,), None)
    MaskIdNumbers().filter(record)
    assert ID not in record.getMessage()
    assert ID not in MaskingFormatter().format(logging.LogRecord("t", 40, __file__, 1, ID, None, None))
    assert surname(NAME) == "李**"


def test_every_way_out_masks_an_id_number_the_same_one_way():
    """The log's formatter, a failure's text for the log and the lists share rules.idnumber's masking."""
    from shebao_desk.failure import masked
    from shebao_desk.logsetup import mask_text
    from shebao_desk.rules.idnumber import mask_id_number, mask_id_numbers
    text = f"person {ID}, card 61{ID}, lower-case x {ID[:17].lower()}x; at postgresql://u:pw@h/db"
    expected = f"person 6101**********0019, card 61{ID}, lower-case x 6101**********001x; at postgresql://u:***@h/db"
    assert masked(text) == expected  # a longer digit run is not an ID number; the password goes too
    assert mask_text(text, hex_dumps=False) == mask_id_numbers(text) == expected.replace("u:***@", "u:pw@")
    assert mask_id_number(ID) == "6101**********0019"

