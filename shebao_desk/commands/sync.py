"""``shebao-desk sync`` and ``shebao-desk bundle …``."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

from shebao_desk.clock import local_text
from shebao_desk.commands.cli import Subparsers, _store, add_admin_options, command
from shebao_desk.errors import ShebaoError

if TYPE_CHECKING:  # start-up: a command loads only what it uses
    from shebao_desk.store.database import Store


@command("sync")
def _sync(sub: Subparsers) -> None:
    p = sub.add_parser("sync", help="与中心数据库同步（推送本机变更、拉取其他工作站的变更）")
    p.add_argument("--central", help="中心数据库地址，如 postgresql+psycopg://用户:密码@主机/库名"
                                     "（也可用环境变量 SHEBAO_CENTRAL 或 site.toml 的 [sync] central_url）")
    p.add_argument("--status", action="store_true", help="只显示同步状态")
    p.set_defaults(handler=sync_command)


def central_url(args: argparse.Namespace) -> str:
    from shebao_desk.config.site_config import load_site_config
    url = args.central or os.environ.get("SHEBAO_CENTRAL") or load_site_config().central_url
    if not url:
        raise ShebaoError("没有配置中心数据库地址：请用 --central 指定，或在 site.toml 的 [sync] 填写 central_url")
    return url


def sync_command(args: argparse.Namespace) -> int:
    from shebao_desk.config.site_config import load_site_config
    from shebao_desk.sync.status import sync_status
    store = _store(args)
    if not args.status:
        from shebao_desk.sync.central import sync
        report = sync(store, central_url(args))
        print(f"同步完成：推送 {report.pushed} 条，拉取 {report.pulled} 条" +
              (f"，发现 {report.conflicts} 处冲突待主管处理" if report.conflicts else ""))
        if report.new_incarnation:
            print("本机数据库比它曾同步到中心的内容旧（可能是从备份恢复的），已启用新的编号段，受理编号不会重复")
        if report.quarantined:
            print(f"有 {report.quarantined} 条变更被中心拒收，已单独隔离（原因：{'；'.join(report.reasons)}），"
                  "其余变更已同步；修正后下次同步会重试")
    status = sync_status(store, load_site_config().sync_warn_after_days)
    print(status.text())
    if status.blocked:
        _list_quarantine(store)
    return 0


def _list_quarantine(store: Store, limit: int = 20) -> None:
    """For the admin: which changes central refused, and why (retried at every sync)."""
    from sqlalchemy import select

    from shebao_desk.models import SyncQuarantine
    with store.engine.connect() as conn:
        rows = conn.execute(select(SyncQuarantine).order_by(SyncQuarantine.quarantined_at).limit(limit)).all()
    print("被中心拒收、已隔离的变更（每次同步都会重试）：")
    for r in rows:
        print(f"  {local_text(r.quarantined_at)}  {r.table_name} {r.row_id[:8]}…  {r.reason}（已试 {r.attempts} 次）")


@command("bundle")
def _bundle(sub: Subparsers) -> None:
    p = sub.add_parser("bundle", help="离线数据包（无网络时用移动介质传递变更）")
    s = p.add_subparsers(dest="bundle_cmd", required=True)
    e = s.add_parser("export", help="导出上次导出以来的变更（为已登记的站点加密）")
    e.add_argument("--out", type=Path, required=True)
    e.add_argument("--to", metavar="ORIGIN", action="append",
                   help="只为这些已登记的站点加密（可重复；未列出的站点将打不开此包及之后的包）")
    e.set_defaults(handler=bundle_export)
    i = s.add_parser("import", help="导入其他工作站的数据包")
    i.add_argument("file", type=Path)
    i.set_defaults(handler=bundle_import)
    k = s.add_parser("key", help="显示本站的公钥和密钥码（供对方电话核对后登记）")
    k.set_defaults(handler=bundle_key)
    t = s.add_parser("trust", help="登记对方站点的密钥码（电话逐组核对后）；未登记的站点的数据包一律拒收（需管理员）")
    t.add_argument("origin", help="对方站点编号（窗口编号加工作站编号，如 SZ01B）")
    t.add_argument("key", nargs="+", help="对方 `bundle key` 第二行的密钥码（16 组数字，可带空格），或第一行的 64 位公钥")
    t.add_argument("--replace", action="store_true", help="更换已登记站点的密钥（对方重装或换了电脑；需管理员，记入审计）")
    add_admin_options(t)
    t.set_defaults(handler=bundle_trust)


def bundle_export(args: argparse.Namespace) -> int:
    from shebao_desk.sync.bundle import export_bundle
    result = export_bundle(_store(args), args.out, args.to)
    if result is None:
        print("上次导出以来没有新的变更，未生成数据包")
        return 0
    print(f"已导出第 {result.number} 号数据包：{result.changes} 条变更 → {result.path}（已为 {'、'.join(result.receivers)} 加密）")
    return 0


def bundle_import(args: argparse.Namespace) -> int:
    from shebao_desk.sync.bundle import import_bundle
    result = import_bundle(_store(args), args.file)
    print(f"已导入 {result.origin} 的第 {result.number} 号数据包：新增 {result.applied} 条变更，"
          f"已有 {result.skipped} 条" + (f"，发现 {result.conflicts} 处冲突待主管处理" if result.conflicts else "")
          + (f"；其中 {result.parked} 条所依赖的记录（如其他站点登记的人员）尚未到达，已暂存，到达后自动导入"
             if result.parked else ""))
    if result.newly_trusted:
        print(f"{result.origin} 的公钥与预先登记的旧版指纹（{result.fingerprint}）相符，已登记")
    return 0


def bundle_key(args: argparse.Namespace) -> int:
    from shebao_desk.sync.bundle import fingerprint, key_code, own_key
    origin, public = own_key(_store(args))
    print(f"{origin} {public}")
    print(f"密钥码（请对方逐组核对后登记）：{key_code(bytes.fromhex(public))}")
    print(f"旧版指纹 {fingerprint(bytes.fromhex(public))}（仅供核对升级前登记的指纹）")
    return 0


def bundle_trust(args: argparse.Namespace) -> int:
    from shebao_desk.services.admin_auth import require_admin
    from shebao_desk.sync.bundle import plan_trust, trust
    store = _store(args)
    text = "".join(args.key)
    plan = plan_trust(store, args.origin, text)  # a typo is refused before any password is asked
    if plan.kind == "same":
        print(f"{args.origin} 的这把密钥已经登记过，未作改动")
        return 0
    if plan.kind == "replace" and not args.replace:
        trust(store, args.origin, text)  # refuses with the line that names --replace
    # The first pins of a store with no admin yet need none (as its first admin); a replacement always does.
    admin = require_admin(store, args, first_admin_ok=plan.kind != "replace")
    done = trust(store, args.origin, text, replace=args.replace, admin_id=admin.id if admin else None,
                 workstation=args.workstation or "")
    what = {"new": "已登记", "complete": "已补登公钥（与旧版指纹相符）", "replace": "已更换密钥（已记入审计）"}[done.kind]
    print(f"{what} {args.origin}；此后只接受签名与之相符的数据包，导出时也为它加密")
    return 0
