"""Admin credentials for the commands that create users, unlock accounts, restore or change site data.

The CLI asks for an admin's username (``--admin``) and password (prompted, or the first
line of standard input with ``--admin-password-stdin``), checks them like a login
(failures count towards the lockout), and returns the admin so the action is
audited under that name. The only exception: a store with no admin yet (its first admin,
its first pins), where there is nobody to ask.

A lock on an admin account never shuts the admins out: ``--admin-recovery`` takes the
store's recovery key (the one ``db recovery-key`` printed for the safe) instead of a
password. Whoever holds that key can decrypt the store anyway, so it opens no more than it
already does; the action is audited as done with the recovery key. With it, or with a
second admin, ``admin unlock`` lifts the lock and ``admin create-user`` makes a new admin.
"""

from __future__ import annotations

import argparse
import getpass
import hmac
import sys
from typing import Literal, overload

from shebao_desk.config.policy import load_policy
from shebao_desk.errors import AuthError, ShebaoError, StoreError
from shebao_desk.models import Clerk, Role
from shebao_desk.services.auth import login, needs_first_admin
from shebao_desk.store.database import Store
from shebao_desk.store.keystore import Keystore, parse_recovery

NEEDS_ADMIN = "此操作需要管理员身份：请用 --admin 用户名 并输入该管理员的密码（管理员被锁定时可用 --admin-recovery 输入恢复密钥）"
RECOVERY = "recovery-key"  # the actor named in the log for an action done with the recovery key


def _admin_secret(args: argparse.Namespace, prompt: str) -> str:
    if getattr(args, "admin_password_stdin", False):
        return sys.stdin.readline().rstrip("\n")
    return getpass.getpass(prompt)


def recovery_ok(store: Store, text: str) -> bool:
    """Whether ``text`` is this store's recovery key (compared in constant time)."""
    if store.path is None:
        return False
    held = Keystore(store.path).db_key(create=False)
    try:
        given = parse_recovery(text)
    except StoreError:
        return False
    return held is not None and hmac.compare_digest(held, given)


@overload
def require_admin(store: Store, args: argparse.Namespace, *, first_admin_ok: Literal[False] = False) -> Clerk: ...


@overload
def require_admin(store: Store, args: argparse.Namespace, *, first_admin_ok: bool) -> Clerk | None: ...


def require_admin(store: Store, args: argparse.Namespace, *, first_admin_ok: bool = False) -> Clerk | None:
    """The admin named on the command line, with the right password; None for a store with no admin
    yet (when ``first_admin_ok``) or when the store's recovery key was given instead."""
    if first_admin_ok:
        with store.read() as s:
            if needs_first_admin(s):
                return None
    if getattr(args, "admin_recovery", False):
        if not recovery_ok(store, _admin_secret(args, "本库的恢复密钥：")):
            raise ShebaoError("恢复密钥不对，未做任何改动", "admin recovery key refused")
        return None
    if not getattr(args, "admin", None):
        raise ShebaoError(NEEDS_ADMIN, "admin credentials missing")
    cfg = load_policy().site
    try:
        clerk = login(store, args.admin, _admin_secret(args, f"管理员 {args.admin} 的密码："),
                      max_failures=cfg.login_max_failures, lockout_minutes=cfg.lockout_minutes,
                      workstation=getattr(args, "workstation", None) or "")
    except AuthError as exc:
        raise ShebaoError(f"管理员身份验证失败：{exc.message}", exc.detail) from None
    if clerk.role is not Role.ADMIN:
        raise ShebaoError(NEEDS_ADMIN, f"{clerk.username} is {clerk.role.value}, not admin")
    return clerk
