"""Where a store's secrets are read from: the key file when there is one, else the system keyring."""

import json

import pytest

from shebao_desk.store import keystore
from shebao_desk.store.keystore import Keystore


class Ring:
    """A system keyring that can be made to refuse saves (locked, its daemon gone)."""

    def __init__(self):
        self.held, self.refuse, self.asked = {}, False, 0

    def get_password(self, service, name):
        self.asked += 1
        return self.held.get((service, name))

    def set_password(self, service, name, text):
        if self.refuse:
            raise RuntimeError("keyring locked")
        self.held[(service, name)] = text

    def delete_password(self, service, name):
        self.held.pop((service, name), None)


@pytest.fixture
def ring(monkeypatch, tmp_path):
    ring = Ring()
    monkeypatch.setenv("SHEBAO_KEYS", str(tmp_path / "keys"))
    monkeypatch.setattr(keystore, "_keyring", lambda: ring)
    return ring


def test_a_save_the_keyring_refused_is_what_the_next_start_reads(ring, tmp_path):
    keys = Keystore(tmp_path / "s.sqlite3")
    keys.put("db_key", "aa" * 32)  # into the keyring, no file
    assert not keys.file.exists() and keys.get("db_key") == "aa" * 32
    ring.refuse = True
    keys.put("signing_key", "new")  # the keyring refuses: the key file holds both, the keyring the old set
    assert json.loads(keys.file.read_text(encoding="utf-8"))["signing_key"] == "new"
    ring.refuse = False
    fresh = Keystore(tmp_path / "s.sqlite3")  # the next start, the keyring working again
    assert fresh.get("signing_key") == "new" and fresh.get("db_key") == "aa" * 32
    fresh.put("note", "x")  # once the keyring takes a save again the file goes and the keyring is current
    assert not fresh.file.exists()
    assert Keystore(tmp_path / "s.sqlite3").load()["signing_key"] == "new"


def test_a_key_file_is_read_without_asking_the_keyring(ring, tmp_path):
    ring.refuse = True
    keys = Keystore(tmp_path / "s.sqlite3")
    keys.put("db_key", "bb" * 32)
    ring.refuse = False
    asked = ring.asked
    assert Keystore(tmp_path / "s.sqlite3").get("db_key") == "bb" * 32
    assert ring.asked == asked
