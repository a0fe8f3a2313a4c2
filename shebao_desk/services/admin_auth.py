"""Admin credentials for the commands that create users, unlock accounts, restore or change site data.

The CLI asks for an admin's username (``--admin``) and password (prompted, or the first
line of standard input with ``--admin-password-stdin``), checks them like a login
(failures count towards the lockout), and returns the admin so the action is
audited under that name. The only exception: the first admin of a store with none.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Literal, overload

from shebao_desk.config.policy import load_policy
from shebao_desk.errors import AuthError, ShebaoError
from shebao_desk.models import Clerk, Role
from shebao_desk.services.auth import login, needs_first_admin
from shebao_desk.store.database import Store

NEEDS_ADMIN = "此操作需要管理员身份：请用 --admin 用户名 并输入该管理员的密码"


def _admin_password(args: argparse.Namespace) -> str:
    if getattr(args, "admin_password_stdin", False):
        return sys.stdin.readline().rstrip("\n")
    return getpass.getpass(f"管理员 {args.admin} 的密码：")


@overload
def require_admin(store: Store, args: argparse.Namespace, *, first_admin_ok: Literal[False] = False) -> Clerk: ...


@overload
def require_admin(store: Store, args: argparse.Namespace, *, first_admin_ok: bool) -> Clerk | None: ...


def require_admin(store: Store, args: argparse.Namespace, *, first_admin_ok: bool = False) -> Clerk | None:
    """The admin named on the command line, with the right password; None only for a store's first admin."""
    if first_admin_ok:
        with store.read() as s:
            if needs_first_admin(s):
                return None
    if not getattr(args, "admin", None):
        raise ShebaoError(NEEDS_ADMIN, "admin credentials missing")
    cfg = load_policy().site
    try:
        clerk = login(store, args.admin, _admin_password(args), max_failures=cfg.login_max_failures,
                      lockout_minutes=cfg.lockout_minutes,
                      workstation=getattr(args, "workstation", None) or "")
    except AuthError as exc:
        raise ShebaoError(f"管理员身份验证失败：{exc.message}", exc.detail) from None
    if clerk.role is not Role.ADMIN:
        raise ShebaoError(NEEDS_ADMIN, f"{clerk.username} is {clerk.role.value}, not admin")
    return clerk
