"""Clerk accounts: creating them, logging in, locking out after repeated failures.

Passwords are hashed with Argon2id (memory-hard, via argon2-cffi); the hash
carries its own parameters, so they can be raised later and old hashes still verify.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shebao_desk.clock import local_text, now_utc
from shebao_desk.errors import AuthError, ValidationError
from shebao_desk.models import Clerk, Role
from shebao_desk.models.base import stable_uuid
from shebao_desk.store.database import Store

log = logging.getLogger(__name__)

_hasher = PasswordHasher()  # argon2id, 64 MiB, t=3 (the library's RFC 9106 low-memory profile)
MIN_PASSWORD_LENGTH = 8
REFUSED = "用户名或密码错误"  # one message for an unknown user and a wrong password
_USERNAME = re.compile(r"^[A-Za-z0-9_.-]{2,40}$")


@functools.cache
def _dummy_hash() -> str:
    """Verified when the user is unknown, so that a refusal takes as long as for a real clerk. Made at
    the first login, not at import: an Argon2 hash costs ~0.2 s that commands without a login paid."""
    return _hasher.hash("no such clerk: timing only")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(f"密码至少 {MIN_PASSWORD_LENGTH} 位")
    if password.isdigit() or password.isalpha():
        raise ValidationError("密码需同时包含字母和数字")


def needs_first_admin(session: Session) -> bool:
    return session.scalar(select(func.count()).select_from(Clerk).where(Clerk.role == Role.ADMIN)) == 0


def create_clerk(session: Session, username: str, display_name: str, password: str, role: Role) -> Clerk:
    username = username.strip()
    if not _USERNAME.match(username):
        raise ValidationError("用户名为 2—40 位字母、数字或 _ . -")
    if not display_name.strip():
        raise ValidationError("请填写姓名")
    check_password_rules(password)
    if session.scalar(select(Clerk).where(Clerk.username == username)) is not None:
        raise ValidationError(f"用户名 {username} 已存在")
    clerk = Clerk(id=stable_uuid("clerk", username), username=username, display_name=display_name.strip(), role=role,
                  password_hash=hash_password(password))
    session.add(clerk)
    session.flush()
    log.info("clerk %s created with role %s", username, role.value)
    return clerk


def attempt_login(session: Session, username: str, password: str, *, max_failures: int,
                  lockout_minutes: int, now: dt.datetime | None = None) -> Clerk | AuthError:
    """The clerk if the password is right, else the reason; counts failures and locks.

    Returns the error instead of raising it so that the caller's unit of work
    commits the failure count (a raise would roll it back and defeat the lockout).
    """
    now = now or now_utc()
    clerk = session.scalar(select(Clerk).where(Clerk.username == username.strip()))
    if clerk is None or not clerk.active:
        # Never log what was typed: it may be the password entered in the wrong field.
        _verify(_dummy_hash(), password)
        log.info("login refused: unknown or inactive user")
        return AuthError(REFUSED, "login refused: unknown or inactive user")
    if clerk.locked_until is not None and clerk.locked_until > now:
        _verify(_dummy_hash(), password)
        return AuthError(f"连续输错密码次数过多，账号已锁定至 {local_text(clerk.locked_until)}，请稍后再试或联系管理员",
                         f"clerk {clerk.username} locked")
    if not _verify(clerk.password_hash, password):
        clerk.failed_logins += 1
        left = max_failures - clerk.failed_logins
        if left <= 0:
            clerk.locked_until = now + dt.timedelta(minutes=lockout_minutes)
            clerk.failed_logins = 0
            log.warning("clerk %s locked for %d minutes", clerk.username, lockout_minutes)
            return AuthError(f"密码错误次数过多，账号锁定 {lockout_minutes} 分钟", f"clerk {clerk.username} locked now")
        return AuthError(REFUSED, f"bad password for {clerk.username} ({left} tries left)")
    clerk.failed_logins = 0
    clerk.locked_until = None
    clerk.last_login_at = now
    if _hasher.check_needs_rehash(clerk.password_hash):
        clerk.password_hash = hash_password(password)
    return clerk


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def login(store: Store, username: str, password: str, *, max_failures: int, lockout_minutes: int,
          workstation: str = "", now: dt.datetime | None = None) -> Clerk:
    """One login attempt as its own unit of work; raises AuthError after committing the count."""
    with store.unit(None, workstation, "login") as session:
        result = attempt_login(session, username, password, max_failures=max_failures,
                               lockout_minutes=lockout_minutes, now=now)
    if isinstance(result, AuthError):
        raise result
    return result


def unlock(clerk: Clerk) -> None:
    clerk.locked_until = None
    clerk.failed_logins = 0
