import datetime as dt

import pytest

from shebao_desk.services.auth import create_clerk, login as auth_login, needs_first_admin
from shebao_desk.errors import AuthError, ValidationError
from shebao_desk.models import Role

T = dt.datetime(2026, 3, 9, 1, 0, tzinfo=dt.UTC)


def login(store, password, now=T):
    try:
        return auth_login(store, "admin", password, max_failures=3, lockout_minutes=15, now=now)
    except AuthError as exc:
        return exc


def test_first_admin_then_login(store):
    with store.read() as s:
        assert needs_first_admin(s)
    with store.unit(None, "A", "setup") as s:
        clerk = create_clerk(s, "admin", "管理员", "secret123", Role.ADMIN)
        assert clerk.password_hash.startswith("$argon2id$")
    with store.read() as s:
        assert not needs_first_admin(s)
    assert login(store, "secret123").username == "admin"


def test_lockout_after_repeated_failures_then_expiry(store):
    with store.unit(None, "A", "setup") as s:
        create_clerk(s, "admin", "管理员", "secret123", Role.ADMIN)
    assert login(store, "nope").message == "用户名或密码错误"
    assert login(store, "nope").message == "用户名或密码错误"
    assert "锁定" in login(store, "nope").message
    locked = login(store, "secret123", T + dt.timedelta(minutes=14))
    assert isinstance(locked, AuthError) and "锁定" in locked.message
    assert login(store, "secret123", T + dt.timedelta(minutes=16)).username == "admin"


@pytest.mark.parametrize("username, password", [("a", "secret123"), ("admin", "short1"), ("admin", "onlyletters")])
def test_weak_or_malformed_accounts_are_refused(store, username, password):
    with pytest.raises(ValidationError):
        with store.unit(None, "A", "setup") as s:
            create_clerk(s, username, "管理员", password, Role.ADMIN)
