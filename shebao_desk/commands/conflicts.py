"""``shebao-desk conflicts list|resolve``: the supervisor's way to settle sync conflicts."""

from __future__ import annotations

import argparse
import getpass
import sys

from shebao_desk.commands.cli import Subparsers, _store, command
from shebao_desk.clock import local_text


@command("conflicts")
def _conflicts(sub: Subparsers) -> None:
    p = sub.add_parser("conflicts", help="同步冲突（主管处理）")
    s = p.add_subparsers(dest="conflicts_cmd", required=True)
    ls = s.add_parser("list", help="列出待处理的同步冲突")
    ls.add_argument("--all", action="store_true", help="包括已处理的")
    ls.set_defaults(handler=conflicts_list)
    r = s.add_parser("resolve", help="处理一处冲突：作废不应有效的卡")
    r.add_argument("conflict", help="冲突编号（可只写前 8 位）")
    r.add_argument("--keep", help="一人两张有效卡时要保留的卡（卡的编号或卡号）")
    r.add_argument("--user", required=True, help="主管的用户名")
    r.add_argument("--password-stdin", action="store_true", help="从标准输入读取密码（脚本用）")
    r.set_defaults(handler=conflicts_resolve)


def conflicts_list(args: argparse.Namespace) -> int:
    from shebao_desk.services.conflicts import list_conflicts
    with _store(args).read() as s:
        conflicts = list_conflicts(s, include_resolved=args.all)
    if not conflicts:
        print("没有待处理的同步冲突")
        return 0
    for c in conflicts:
        state = f"已处理 {local_text(c.resolved_at)}" if c.resolved_at else "待处理"
        print(f"{c.id[:8]}  {c.label}  {c.person_name} {c.masked_id_number}  发现于 {local_text(c.detected_at)}  {state}")
        for card in c.valid_cards:
            print(f"    卡 {card.id}  卡号 {card.card_number or '（未读卡）'}  {card.status}  登记于 {local_text(card.created_at)}")
    return 0


def conflicts_resolve(args: argparse.Namespace) -> int:
    from shebao_desk.services.auth import login
    from shebao_desk.services.conflicts import resolve_conflict
    from shebao_desk.config.site_config import load_site_config
    from shebao_desk.store.site_identity import get_site
    store = _store(args)
    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else getpass.getpass("主管密码：")
    cfg = load_site_config()
    with store.read() as s:
        site = get_site(s)
    workstation = site.workstation_id if site else ""
    clerk = login(store, args.user, password, max_failures=cfg.login_max_failures,
                  lockout_minutes=cfg.lockout_minutes, workstation=workstation)
    with store.unit(clerk.id, workstation, f"resolve conflict {args.conflict}") as s:
        voided = resolve_conflict(s, args.conflict, s.merge(clerk), keep_card_id=args.keep)
    print(f"冲突已处理：作废 {len(voided)} 张卡" + ("（同步后其他工作站同样生效）" if voided else ""))
    return 0
