"""Clerk accounts: creating them, logging in, locking out after repeated failures.

Passwords are hashed with Argon2id (memory-hard, via argon2-cffi); the hash
carries its own parameters, so they can be raised later and old hashes still verify.
A new password must be long enough and hard enough to guess: zxcvbn (Dropbox's
estimator: common passwords, words, names, keyboard runs, dates, l33t spellings, and
the account's own username and name) must count at least 10^4 guesses for it.

Every refusal reads the same — unknown user, wrong password, locked account — and
costs the same hash, so the answer never tells whether an account exists. The lock
still holds; an admin locked out (by someone else's typing, or after forgetting) gets
in with a second admin or the store's recovery key (:mod:`admin_auth`).
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shebao_desk.clock import local_text, now_utc
from shebao_desk.errors import AuthError, ValidationError
from shebao_desk.models import Attendance, AuditEntry, Case, Clerk, Inquiry, Role, SupervisionVisit
from shebao_desk.models.base import stable_uuid
from shebao_desk.store.database import Store
from shebao_desk.sync.acceptance import name_card_owner

log = logging.getLogger(__name__)

_hasher = PasswordHasher()  # argon2id, 64 MiB, t=3 (the library's RFC 9106 low-memory profile)
MIN_PASSWORD_LENGTH = 8
MIN_GUESSES_LOG10 = 4  # zxcvbn's estimate: "password1" is 10^2.3, "passw0rd!x" 10^4.3
# One message for an unknown user, a wrong password and a locked account: none of them says the account exists.
REFUSED = "用户名或密码错误；连续输错多次的账号会暂时锁定，请稍后再试或联系管理员"


def _dummy_hash() -> str:
    """A hash of nothing, with the hasher's own cost, verified when the user is unknown or locked so
    that every refusal costs the same. Random bytes in the argon2 encoding: no hashing at import
    (a hash would cost 64 MiB of memory in every command that imports this module)."""
    def b64(n: int) -> str:
        return base64.b64encode(secrets.token_bytes(n)).decode().rstrip("=")
    return (f"$argon2id$v=19$m={_hasher.memory_cost},t={_hasher.time_cost},p={_hasher.parallelism}"
            f"${b64(_hasher.salt_len)}${b64(_hasher.hash_len)}")


_DUMMY_HASH = _dummy_hash()
_USERNAME = re.compile(r"^[A-Za-z0-9_.-]{2,40}$")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password_rules(password: str, *, user_inputs: tuple[str, ...] = ()) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(f"密码至少 {MIN_PASSWORD_LENGTH} 位")
    if password.isdigit() or password.isalpha():
        raise ValidationError("密码需同时包含字母和数字")
    from zxcvbn import zxcvbn  # noqa: PLC0415 - start-up: its dictionaries load only when a password is set
    if zxcvbn(password[:100], user_inputs=[u for u in user_inputs if u])["guesses_log10"] < MIN_GUESSES_LOG10:
        raise ValidationError("密码太容易被猜到（常见密码、单词、键盘顺序、日期或与用户名、姓名相近），"
                              "请换一个更长、更不规则的密码", "password below the zxcvbn floor")


def needs_first_admin(session: Session) -> bool:
    return session.scalar(select(func.count()).select_from(Clerk).where(Clerk.role == Role.ADMIN)) == 0


def create_clerk(session: Session, username: str, display_name: str, password: str, role: Role) -> Clerk:
    username = username.strip()
    if not _USERNAME.match(username):
        raise ValidationError("用户名为 2—40 位字母、数字或 _ . -")
    if not display_name.strip():
        raise ValidationError("请填写姓名")
    check_password_rules(password, user_inputs=(username, display_name.strip()))
    existing = session.scalar(select(Clerk).where(Clerk.username == username))
    if existing is not None:
        return _take_over_name_card(session, existing, display_name.strip(), password, role)
    clerk = Clerk(id=stable_uuid("clerk", username), username=username, display_name=display_name.strip(), role=role,
                  password_hash=hash_password(password))
    session.add(clerk)
    session.flush()
    log.info("clerk %s created with role %s", username, role.value)
    return clerk


def _take_over_name_card(session: Session, card: Clerk, display_name: str, password: str, role: Role) -> Clerk:
    """A username held here only by a name card another site's bundle brought (no account, no work of
    theirs here) does not keep this store from making the account: it takes the card's place. One
    that names someone's work here is another site's clerk: refused, saying whose."""
    if card.password_hash or card.active:
        raise ValidationError(f"用户名 {card.username} 已存在")
    owner = name_card_owner(session.connection(), card.id)
    if clerk_named_anywhere(session, card.id):
        raise ValidationError(f"用户名 {card.username} 已是站点 {owner or '（其他站点）'} 的经办员（本机已有其办理的记录），"
                              "请另选用户名")
    card.display_name, card.role, card.password_hash = display_name, role, hash_password(password)
    card.active, card.failed_logins, card.locked_until = True, 0, None
    session.flush()
    log.warning("clerk %s created over a name card from %s that named no one's work", card.username, owner)
    return card


def clerk_named_anywhere(session: Session, clerk_id: str) -> bool:
    """Whether any row or audit entry here names this clerk."""
    named = [select(Case.id).where((Case.accepted_by == clerk_id) | (Case.completed_by == clerk_id)),
             select(Inquiry.id).where(Inquiry.owner_id == clerk_id),
             select(Attendance.id).where(Attendance.clerk_id == clerk_id),
             select(SupervisionVisit.id).where(SupervisionVisit.clerk_id == clerk_id),
             select(AuditEntry.id).where(AuditEntry.clerk_id == clerk_id)]
    return any(session.scalar(query.limit(1)) is not None for query in named)


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
        _verify(_DUMMY_HASH, password)
        log.info("login refused: unknown or inactive user")
        return AuthError(REFUSED, "login refused: unknown or inactive user")
    if clerk.locked_until is not None and clerk.locked_until > now:
        _verify(_DUMMY_HASH, password)
        return AuthError(REFUSED, f"clerk {clerk.username} locked until {local_text(clerk.locked_until)}")
    if not _verify(clerk.password_hash, password):
        clerk.failed_logins += 1
        left = max_failures - clerk.failed_logins
        if left <= 0:
            clerk.locked_until = now + dt.timedelta(minutes=lockout_minutes)
            clerk.failed_logins = 0
            log.warning("clerk %s locked for %d minutes", clerk.username, lockout_minutes)
            return AuthError(REFUSED, f"clerk {clerk.username} locked now for {lockout_minutes} minutes")
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
