"""``shebao-desk sync`` and ``shebao-desk bundle …``."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from shebao_desk.cli import _store, command
from shebao_desk.errors import ShebaoError


@command("sync")
def _sync(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sync", help="与中心数据库同步（推送本机变更、拉取其他工作站的变更）")
    p.add_argument("--central", help="中心数据库地址，如 postgresql+psycopg://用户:密码@主机/库名"
                                     "（也可用环境变量 SHEBAO_CENTRAL 或 site.toml 的 [sync] central_url）")
    p.add_argument("--status", action="store_true", help="只显示同步状态")
    p.set_defaults(handler=sync_command)


def central_url(args: argparse.Namespace) -> str:
    from shebao_desk.site_config import load_site_config
    url = args.central or os.environ.get("SHEBAO_CENTRAL") or load_site_config().central_url
    if not url:
        raise ShebaoError("没有配置中心数据库地址：请用 --central 指定，或在 site.toml 的 [sync] 填写 central_url")
    return url


def sync_command(args: argparse.Namespace) -> int:
    from shebao_desk.site_config import load_site_config
    from shebao_desk.sync.status import sync_status
    store = _store(args)
    if not args.status:
        from shebao_desk.sync.central import sync
        report = sync(store, central_url(args))
        print(f"同步完成：推送 {report.pushed} 条，拉取 {report.pulled} 条" +
              (f"，发现 {report.conflicts} 处冲突待主管处理" if report.conflicts else ""))
    status = sync_status(store, load_site_config().sync_warn_after_days)
    print(status.text())
    return 0


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
    t = s.add_parser("trust", help="预先登记对方站点的公钥")
    t.add_argument("origin")
    t.add_argument("public_key")
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
    from shebao_desk.sync.bundle import fingerprint, import_bundle, opener_for, read_bundle
    store = _store(args)
    result = import_bundle(store, args.file)
    print(f"已导入 {result.origin} 的第 {result.number} 号数据包：新增 {result.applied} 条变更，"
          f"已有 {result.skipped} 条" + (f"，发现 {result.conflicts} 处冲突待主管处理" if result.conflicts else ""))
    if result.newly_trusted:
        header, _ = read_bundle(args.file, opener_for(store))
        print(f"首次收到 {result.origin} 的数据包，已登记其公钥（指纹 {fingerprint(header['public_key'])}），"
              "请与对方核对")
    return 0


def bundle_key(args: argparse.Namespace) -> int:
    from shebao_desk.sync.bundle import fingerprint, own_key
    origin, public = own_key(_store(args))
    print(f"{origin} {public}")
    print(f"指纹：{fingerprint(public)}")
    return 0


def bundle_trust(args: argparse.Namespace) -> int:
    from shebao_desk.sync.bundle import trust
    trust(_store(args), args.origin, args.public_key)
    print(f"已登记 {args.origin} 的公钥")
    return 0
