import datetime as dt

import pytest

from shebao_desk.services.auth import REFUSED, create_clerk, login as auth_login, needs_first_admin
from shebao_desk.errors import AuthError, ValidationError
from shebao_desk.models import Role

T = dt.datetime(2026, 3, 9, 1, 0, tzinfo=dt.UTC)


def login(store, password, now=T, username="admin"):
    try:
        return auth_login(store, username, password, max_failures=3, lockout_minutes=15, now=now)
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
    answers = [login(store, "nope").message for _ in range(3)]
    locked = login(store, "secret123", T + dt.timedelta(minutes=14))
    assert isinstance(locked, AuthError)  # the lock holds, even for the right password
    assert login(store, "secret123", T + dt.timedelta(minutes=16)).username == "admin"
    # Nothing in the answers tells a locked account from a wrong password or from no account at all.
    ghost = [login(store, "nope", username="ghost").message for _ in range(5)]
    assert set(answers) == set(ghost) == {locked.message} == {REFUSED}


@pytest.mark.parametrize("username, password", [
    ("a", "secret123"), ("admin", "short1"), ("admin", "onlyletters"),
    ("admin", "password1"), ("admin", "P@ssw0rd"), ("admin", "qwerty123"), ("admin", "1qaz2wsx"),  # common ones
    ("zhangwei2024", "zhangwei2024"),  # the account's own name
])
def test_weak_or_malformed_accounts_are_refused(store, username, password):
    with pytest.raises(ValidationError):
        with store.unit(None, "A", "setup") as s:
            create_clerk(s, username, "管理员", password, Role.ADMIN)


def test_a_password_hard_to_guess_is_accepted_and_the_refusal_is_chinese(store):
    with store.unit(None, "A", "setup") as s:
        create_clerk(s, "admin", "管理员", "Lao-Wang-2026", Role.ADMIN)
    with pytest.raises(ValidationError, match="太容易被猜到"):
        with store.unit(None, "A", "setup") as s:
            create_clerk(s, "li", "李四", "password1", Role.CLERK)
