"""``shebao-desk sync`` and ``shebao-desk bundle …``."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from shebao_desk.clock import local_text
from shebao_desk.commands.cli import _store, command
from shebao_desk.errors import ShebaoError


@command("sync")
def _sync(sub: argparse._SubParsersAction) -> None:
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


def _list_quarantine(store, limit: int = 20) -> None:
    """For the admin: which changes central refused, and why (retried at every sync)."""
    from sqlalchemy import select

    from shebao_desk.models import SyncQuarantine
    with store.engine.connect() as conn:
        rows = conn.execute(select(SyncQuarantine).order_by(SyncQuarantine.quarantined_at).limit(limit)).all()
    print("被中心拒收、已隔离的变更（每次同步都会重试）：")
    for r in rows:
        print(f"  {local_text(r.quarantined_at)}  {r.table_name} {r.row_id[:8]}…  {r.reason}（已试 {r.attempts} 次）")


@command("bundle")
def _bundle(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bundle", help="离线数据包（无网络时用移动介质传递变更）")
    s = p.add_subparsers(dest="bundle_cmd", required=True)
    e = s.add_parser("export", help="导出上次导出以来的变更")
    e.add_argument("--out", type=Path, required=True)
    e.add_argument("--to", metavar="ORIGIN", help="只为这一个已登记的站点加密（默认：为所有已登记公钥的站点加密）")
    e.set_defaults(handler=bundle_export)
    i = s.add_parser("import", help="导入其他工作站的数据包")
    i.add_argument("file", type=Path)
    i.set_defaults(handler=bundle_import)
    k = s.add_parser("key", help="显示本站的签名公钥（供对方预先登记）")
    k.set_defaults(handler=bundle_key)
    t = s.add_parser("trust", help="预先登记对方站点的公钥指纹（电话核对后）；未登记的站点的数据包一律拒收")
    t.add_argument("origin", help="对方站点编号（窗口编号加工作站编号，如 SZ01B）")
    t.add_argument("fingerprint", nargs="+", help="对方 `bundle key` 显示的指纹（32 位，可带空格），或 64 位完整公钥")
    t.set_defaults(handler=bundle_trust)


def bundle_export(args: argparse.Namespace) -> int:
    from shebao_desk.sync.bundle import export_bundle
    result = export_bundle(_store(args), args.out, getattr(args, "to", None))
    if result is None:
        print("上次导出以来没有新的变更，未生成数据包")
        return 0
    print(f"已导出第 {result.number} 号数据包：{result.changes} 条变更 → {result.path}")
    return 0


def bundle_import(args: argparse.Namespace) -> int:
    from shebao_desk.sync.bundle import import_bundle
    result = import_bundle(_store(args), args.file)
    print(f"已导入 {result.origin} 的第 {result.number} 号数据包：新增 {result.applied} 条变更，"
          f"已有 {result.skipped} 条" + (f"，发现 {result.conflicts} 处冲突待主管处理" if result.conflicts else "")
          + (f"；其中 {result.parked} 条所依赖的记录（如其他站点登记的人员）尚未到达，已暂存，到达后自动导入"
             if result.parked else ""))
    if result.newly_trusted:
        print(f"{result.origin} 的公钥与预先登记的指纹（{result.fingerprint}）相符，已登记")
    return 0


def bundle_key(args: argparse.Namespace) -> int:
    from shebao_desk.sync.bundle import fingerprint, own_key
    origin, public = own_key(_store(args))
    print(f"{origin} {public}")
    print(f"指纹：{fingerprint(public)}")
    return 0


def bundle_trust(args: argparse.Namespace) -> int:
    from shebao_desk.sync.bundle import trust
    trust(_store(args), args.origin, "".join(args.fingerprint))
    print(f"已登记 {args.origin}；此后只接受签名与之相符的数据包")
    return 0
