"""The ``shebao-desk`` command: the GUI by default, admin and maintenance subcommands.

Each subcommand lives in a small function. Every failure ends the same way:
one plain Chinese line on stderr and exit code 2 (1 only for ``db check``
finding violations); the traceback, masked, goes to the log.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import importlib
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeAlias

from shebao_desk.clock import local_day, now_utc
from shebao_desk.config.resources import resource_path
from shebao_desk.errors import ShebaoError
from shebao_desk.failure import explain, trace_text
from shebao_desk.logsetup import owner_only_umask, setup_logging

if TYPE_CHECKING:  # start-up: a command loads only what it uses
    from shebao_desk.config.policy import Policy
    from shebao_desk.store.database import Store

log = logging.getLogger(__name__)

Subparsers: TypeAlias = "argparse._SubParsersAction[_Parser]"  # each command's parser is a _Parser too
Register: TypeAlias = "Callable[[Subparsers], None]"  # adds a command's parser(s)
COMMANDS: dict[str, Register] = {}


def command(name: str) -> Callable[[Register], Register]:
    def register(fn: Register) -> Register:
        COMMANDS[name] = fn
        return fn
    return register


def _store(args: argparse.Namespace, *, create: bool = False, check: bool = False) -> Store:
    """The store ``--db`` (or SHEBAO_DB, or the default) names. Only the commands that start a store
    (``setup``, ``demo seed``; the GUI's first start) may create one: for any other, a path that does
    not exist is a typo, refused before a folder or file is made."""
    from shebao_desk.store.database import open_store, resolve_db_path
    path = resolve_db_path(args.db)
    if not create:
        require_existing(path)
    return open_store(path, check=check)


def require_existing(path: Path) -> None:
    if not path.is_file():
        raise ShebaoError(f"找不到数据库 {path}，未创建任何文件；请检查 --db 参数或 SHEBAO_DB"
                          "（新的工作站请先运行 shebao-desk setup，或启动程序完成初始设置）", f"no store at {path}")


def _policy() -> Policy:
    from shebao_desk.config.policy import load_policy
    return load_policy()


# --- gui -------------------------------------------------------------------

def run_gui(args: argparse.Namespace) -> int:
    from shebao_desk.ui.app import run
    return run(args)


# --- admin -----------------------------------------------------------------

def add_admin_options(parser: argparse.ArgumentParser) -> None:
    """--admin, --admin-password-stdin and --admin-recovery (read by services.admin_auth). Here, not there: building the
    parser must not import the accounts' database and Argon2 for every command."""
    parser.add_argument("--admin", metavar="USERNAME", help="执行此操作的管理员用户名")
    parser.add_argument("--admin-password-stdin", action="store_true",
                        help="从标准输入的第一行读取管理员密码（或恢复密钥，脚本用）")
    parser.add_argument("--admin-recovery", action="store_true",
                        help="以本库的恢复密钥代替管理员密码（管理员被锁定或忘记密码时；记入审计）")


@command("admin")
def _admin(sub: Subparsers) -> None:
    p = sub.add_parser("admin", help="账号管理")
    s = p.add_subparsers(dest="admin_cmd", required=True)
    c = s.add_parser("create-user", help="创建经办员、主管或管理员账号")
    c.add_argument("--username", required=True)
    c.add_argument("--name", required=True, help="显示的姓名")
    c.add_argument("--role", choices=["clerk", "supervisor", "admin"], default="clerk")
    c.add_argument("--password-stdin", action="store_true",
                   help="从标准输入读取新密码（脚本用；与 --admin-password-stdin 同用时为第二行）")
    add_admin_options(c)
    c.set_defaults(handler=admin_create_user)
    u = s.add_parser("unlock", help="解除账号锁定")
    u.add_argument("username")
    add_admin_options(u)
    u.set_defaults(handler=admin_unlock)


def _action(name: str, args: argparse.Namespace) -> str:
    """The audited action; one done with the recovery key instead of an admin says so."""
    return f"{name} (recovery key)" if getattr(args, "admin_recovery", False) else name


def _read_new_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("密码：")
    if getpass.getpass("再输一次：") != first:
        raise ShebaoError("两次输入的密码不一致")
    return first


def admin_create_user(args: argparse.Namespace) -> int:
    from shebao_desk.models import Role
    from shebao_desk.services.admin_auth import require_admin
    from shebao_desk.services.auth import create_clerk
    store = _store(args)
    admin = require_admin(store, args, first_admin_ok=args.role == "admin")
    password = _read_new_password(args.password_stdin)
    with store.unit(admin.id if admin else None, args.workstation or "", _action("admin create-user", args)) as s:
        clerk = create_clerk(s, args.username, args.name, password, Role(args.role))
        print(f"已创建 {clerk.role.label} {clerk.display_name}（{clerk.username}）")
    return 0


def admin_unlock(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from shebao_desk.models import Clerk
    from shebao_desk.services.admin_auth import require_admin
    from shebao_desk.services.auth import unlock
    store = _store(args)
    admin = require_admin(store, args)
    with store.unit(admin.id if admin else None, args.workstation or "", _action("admin unlock", args)) as s:
        clerk = s.scalar(select(Clerk).where(Clerk.username == args.username))
        if clerk is None:
            raise ShebaoError(f"没有用户 {args.username}")
        unlock(clerk)
    print(f"已解除 {args.username} 的锁定")
    return 0


# --- setup -----------------------------------------------------------------

@command("setup")
def _setup(sub: Subparsers) -> None:
    p = sub.add_parser("setup", help="首次设置本机的窗口编号和工作站编号（可同时在中心数据库登记，防止编号重复）")
    p.add_argument("--window", required=True, help="窗口编号（全市唯一，如 SZ01）")
    p.add_argument("--workstation", dest="setup_workstation", required=True,
                   help="本窗口内的工作站编号（如 A、B），每台电脑不同")
    p.add_argument("--central", help="中心数据库地址：设置时即登记，编号已被其他电脑占用则拒绝")
    p.set_defaults(handler=setup_command)


def setup_command(args: argparse.Namespace) -> int:
    from shebao_desk.services.site_setup import set_up_site
    store, policy = _store(args, create=True), _policy()
    site = set_up_site(store, policy.site, args.window, args.setup_workstation, central_url=args.central or "",
                       central_required=bool(args.central))
    print(f"本机已设置为窗口 {site.window_code}、工作站 {site.workstation_id}"
          + ("，并已在中心数据库登记" if args.central else ""))
    return 0


# --- calendar --------------------------------------------------------------

@command("calendar")
def _calendar(sub: Subparsers) -> None:
    p = sub.add_parser("calendar", help="工作日历")
    s = p.add_subparsers(dest="calendar_cmd", required=True)
    w = s.add_parser("workdays", help="列出某年的全部工作日")
    w.add_argument("year", type=int)
    w.add_argument("--provisional", action="store_true", help="按暂定日历（法定假日与惯例连休，不调休上班）列出")
    w.set_defaults(handler=calendar_workdays)
    d = s.add_parser("due", help="某日之后第 N 个工作日")
    d.add_argument("date", type=dt.date.fromisoformat)
    d.add_argument("n", type=int)
    d.set_defaults(handler=calendar_due)
    n = s.add_parser("import-notice", help="读入国务院办公厅节假日安排通知的文本，写出该年的日历数据文件")
    n.add_argument("file", type=Path)
    n.add_argument("--out", type=Path, help="默认写入 resources/calendar/YEAR.toml")
    n.add_argument("--store", action="store_true", help="写入数据库（随同步与数据包传到各窗口），不写文件；需管理员")
    add_admin_options(n)
    n.set_defaults(handler=calendar_import_notice)
    st = s.add_parser("status", help="各年日历来源；11 月起提醒次年安排是否已导入")
    st.set_defaults(handler=calendar_status)
    i = s.add_parser("import", help="从 chinesecalendar 库生成某年的日历数据文件")
    i.add_argument("year", type=int)
    i.add_argument("--out", type=Path, help="默认写入 resources/calendar/YEAR.toml")
    i.set_defaults(handler=calendar_import)


def calendar_workdays(args: argparse.Namespace) -> int:
    from shebao_desk.config.workdays import WorkCalendar, default_calendar
    calendar = WorkCalendar() if args.provisional else default_calendar()
    for day in calendar.workdays_of(args.year):
        print(day.isoformat())
    if calendar.is_provisional(args.year) and not args.provisional:
        print(f"（{args.year} 年的节假日安排尚未导入，以上为暂定日历）", file=sys.stderr)
    return 0


def calendar_due(args: argparse.Namespace) -> int:
    from shebao_desk.config.workdays import default_calendar
    if args.n < 0:
        raise ShebaoError("N 不能为负数")
    promise = default_calendar().promise(args.date, args.n)
    print(promise.day.isoformat() + (" 预计（按暂定日历：该年节假日安排尚未导入）" if promise.provisional else ""))
    return 0


def calendar_import_notice(args: argparse.Namespace) -> int:
    from shebao_desk.config.calendar_import import render_schedule
    from shebao_desk.config.workdays import default_calendar, parse_year_file
    from shebao_desk.rules.calendar_notice import read_notice
    notice = read_notice(args.file)
    print("\n".join(notice.summary()))
    text = render_schedule(notice.year, notice.holidays, notice.workdays)
    if args.store:
        from shebao_desk.services.admin_auth import require_admin
        from shebao_desk.services.calendar_store import store_year
        store = _store(args)
        admin = require_admin(store, args, first_admin_ok=True)  # it changes every window's calendar
        with store.unit(admin.id if admin else None, args.workstation or "",
                        _action(f"calendar import-notice {notice.year}", args)) as s:
            store_year(s, notice.year, text, f"国务院办公厅关于{notice.year}年部分节假日安排的通知")
        print(f"已写入数据库 {store.path}；各窗口同步后生效")
        return 0
    out = args.out or resource_path("calendar", f"{notice.year}.toml")
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        parse_year_file(tmp)  # what we wrote must load
        tmp.replace(out)
    except OSError as exc:
        raise ShebaoError(f"无法写入 {out}：{exc.strerror}", f"write {out}: {exc}") from None
    finally:
        tmp.unlink(missing_ok=True)
    default_calendar.cache_clear()
    print(f"已写入 {out}；请用 `shebao-desk calendar workdays {notice.year}` 与通知逐日核对")
    return 0


def calendar_status(args: argparse.Namespace) -> int:
    from shebao_desk.config.workdays import default_calendar
    from shebao_desk.services.calendar_store import next_year_warning
    calendar = default_calendar()
    if args.db or os.environ.get("SHEBAO_DB"):
        with _store(args).read() as s:
            calendar.refresh(s)
    today = local_day(now_utc())
    for year in (today.year, today.year + 1):
        schedule = calendar.schedule(dt.date(year, 1, 1))
        origin = "暂定（按法定假日推算）" if schedule.provisional else ("数据库（已同步）" if schedule.stored else "数据文件")
        print(f"{year} 年：{origin}")
    warning = next_year_warning(calendar, today)
    if warning:
        print(warning)
    return 0


def calendar_import(args: argparse.Namespace) -> int:
    from shebao_desk.config.calendar_import import write_year_file
    out = args.out or resource_path("calendar", f"{args.year}.toml")
    write_year_file(args.year, out)
    print(f"已写入 {out}；请用 `shebao-desk calendar workdays {args.year}` 与国务院通知逐日核对")
    return 0


# --- db --------------------------------------------------------------------

@command("db")
def _db(sub: Subparsers) -> None:
    p = sub.add_parser("db", help="数据库维护")
    s = p.add_subparsers(dest="db_cmd", required=True)
    s.add_parser("upgrade", help="升级数据库结构").set_defaults(handler=db_upgrade)
    s.add_parser("check", help="完整性检查与业务规则检查").set_defaults(handler=db_check)
    d = s.add_parser("digest", help="各同步表的行数与内容摘要（比对两份副本是否一致）")
    d.add_argument("--json", action="store_true", help="以 JSON 输出")
    d.add_argument("--central", help="改为计算中心数据库的摘要（数据库地址）")
    d.set_defaults(handler=db_digest)
    b = s.add_parser("backup", help="在线备份到文件（先做快速完整性检查）")
    b.add_argument("path", type=Path, nargs="?", help="默认写入数据目录下的 backups 文件夹")
    b.set_defaults(handler=db_backup)
    r = s.add_parser("restore", help="从备份恢复（原库另存；需管理员）")
    r.add_argument("path", type=Path)
    r.add_argument("--recovery-key", help="备份来自别的电脑或本机密钥已丢失时：管理员保存的恢复密钥")
    add_admin_options(r)
    r.set_defaults(handler=db_restore)
    k = s.add_parser("recovery-key", help="显示本数据库的恢复密钥，供管理员打印后妥善保管（需管理员）")
    add_admin_options(k)
    k.set_defaults(handler=db_recovery_key)
    st = s.add_parser("stats", help="各表行数（不读内容，供技术支持比对两个数据库）")
    st.add_argument("--json", action="store_true", help="输出 JSON 对象：表名 → 行数")
    st.set_defaults(handler=db_stats)


def db_upgrade(args: argparse.Namespace) -> int:
    store = _store(args)
    print(f"数据库 {store.path} 已是最新结构（{store.current_revision()}）")
    return 0


def db_check(args: argparse.Namespace) -> int:
    from shebao_desk.services.invariants import check_store
    from shebao_desk.services.invariants import Finding
    from shebao_desk.store import anchor
    # No quick_check on the way in: check_store's integrity_check reads every page it would (and checks
    # every index too), and a damaged file ends in the same one line naming the restore (#29: 36 s at 1M).
    store = _store(args)
    with store.read() as s:
        findings = check_store(s)
    with store.engine.connect() as conn:  # what only the state kept outside the store can tell
        findings += [Finding(rule, detail) for rule, detail in
                     anchor.change_log_findings(conn) + anchor.findings(store.path, conn)]
    broken = [f for f in findings if not f.open_conflict]
    conflicts = [f for f in findings if f.open_conflict]
    for finding in broken + conflicts:
        print(finding)
    if broken:
        print(f"发现 {len(broken)} 处问题" + (f"，另有 {len(conflicts)} 处同步冲突待主管处理" if conflicts else ""),
              file=sys.stderr)
        return 1
    if conflicts:  # flagged by the merge for a supervisor: not a broken rule (shebao-desk conflicts)
        print(f"业务规则无违反；有 {len(conflicts)} 处同步冲突待主管处理（shebao-desk conflicts list）")
        return 0
    print("检查通过：完整性正常，业务规则无违反")
    return 0


def db_digest(args: argparse.Namespace) -> int:
    from shebao_desk.sync.digest import digest_central, digest_store, render
    result = digest_central(args.central) if args.central else digest_store(_store(args))
    print(render(result, as_json=args.json))
    return 0


def db_backup(args: argparse.Namespace) -> int:
    from shebao_desk.store.backup import backup
    from shebao_desk.store.database import resolve_db_path
    require_existing(resolve_db_path(args.db))
    out = backup(resolve_db_path(args.db), args.path)
    print(f"已备份到 {out}")
    return 0


def db_restore(args: argparse.Namespace) -> int:
    from shebao_desk.services.restore import restore_as_admin
    from shebao_desk.store.database import resolve_db_path
    kept = restore_as_admin(resolve_db_path(args.db), args.path, args)
    print(f"已从 {args.path} 恢复" + (f"；原数据库另存为 {kept}" if kept else ""))
    return 0


def db_recovery_key(args: argparse.Namespace) -> int:
    from shebao_desk.changes.audit import record_event
    from shebao_desk.services.admin_auth import require_admin
    from shebao_desk.store.keystore import Keystore, recovery_text
    store = _store(args)
    admin = require_admin(store, args)
    key = Keystore(store.path).db_key(create=False)
    if key is None:
        raise ShebaoError(f"数据库 {store.path} 未加密，没有恢复密钥")
    with store.unit(admin.id if admin else None, args.workstation or "", _action("db recovery-key", args)) as s:
        record_event(s, "store", "recovery-key", {"shown_to": admin.username if admin else "recovery-key"})
    print(f"数据库 {store.path} 的恢复密钥（请打印后锁入保险柜，勿存于本机）：")
    print(recovery_text(key))
    return 0


def db_stats(args: argparse.Namespace) -> int:

    from shebao_desk.store.database import table_counts
    counts = table_counts(_store(args))
    if args.json:
        print(json.dumps(counts, ensure_ascii=False, sort_keys=True))
    else:
        for name, n in sorted(counts.items()):
            print(f"{name}\t{n}")
    return 0


# --- demo ------------------------------------------------------------------

@command("demo")
def _demo(sub: Subparsers) -> None:
    p = sub.add_parser("demo", help="演示数据")
    s = p.add_subparsers(dest="demo_cmd", required=True)
    d = s.add_parser("seed", help="生成 N 个虚构但有效的人员、卡和各类业务")
    d.add_argument("n", type=int)
    d.add_argument("--workstation", dest="seed_workstation", default=None,
                   help="工作站编号（默认取本库的站点设置或全局 --workstation，新库为 A）")
    d.set_defaults(handler=demo_seed)


def demo_seed(args: argparse.Namespace) -> int:
    from shebao_desk.services.demo import seed
    from shebao_desk.store.site_identity import get_site
    store = _store(args, create=True)  # a training store may start here
    with store.read() as s:
        site = get_site(s)
    workstation = site.workstation_id if site else (args.seed_workstation or args.workstation or "A")
    result = seed(store, _policy(), args.n, workstation=workstation)
    print(f"已生成 {result.people} 人、{result.cases} 笔业务（工作站 {workstation}）")
    return 0


# --- report ----------------------------------------------------------------

@command("report")
def _report(sub: Subparsers) -> None:
    p = sub.add_parser("report", help="业务统计（用于考核），导出 XLSX 或 PDF")
    s = p.add_subparsers(dest="report_cmd", required=True)
    for kind, label, arg_help in (("month", "月报", "YYYY-MM"), ("week", "周报（含该日所在的周）", "YYYY-MM-DD"),
                                  ("day", "日报", "YYYY-MM-DD")):
        r = s.add_parser(kind, help=label)
        r.add_argument("when", help=arg_help)
        r.add_argument("--out", type=Path, required=True, help="输出文件（.xlsx 或 .pdf）")
        r.add_argument("--central", help="从中心数据库统计全市各窗口（如 postgresql+psycopg://用户:密码@主机/库名）")
        r.set_defaults(handler=report_command, report_kind=kind)
    from shebao_desk.commands.ratings import add_ratings_parser  # issue 28: 好差评
    add_ratings_parser(s)


def report_command(args: argparse.Namespace) -> int:
    from shebao_desk.services.report_export import export
    from shebao_desk.services.statistics import month, period_of, report_sections
    from shebao_desk.store.site_identity import get_site
    try:
        period = month(args.when) if args.report_kind == "month" else \
            period_of(args.report_kind, dt.date.fromisoformat(args.when))
    except ValueError as exc:
        raise ShebaoError(str(exc)) from None
    if getattr(args, "central", None):
        from shebao_desk.services.city_report import city_report
        city_report(args.central, period, _policy(), args.out)
        print(f"已导出 {period.label} 全市各窗口的统计：{args.out}")
        return 0
    store, policy = _store(args), _policy()
    with store.read() as s:
        site = get_site(s)
        sections = report_sections(s, period, policy, site.window_code if site else None)
    export(args.out, f"{policy.site.institution} 社会保障卡业务统计", period, sections)
    print(f"已导出 {period.label} 的统计：{args.out}")
    return 0


# --- entry -----------------------------------------------------------------

class _ShowVersion(argparse.Action):
    """``--version``: computed only when asked (it reads the migrations), then exit 0."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: str | Sequence[Any] | None, option_string: str | None = None) -> None:
        from shebao_desk.services.about import about
        print("\n".join(about(getattr(namespace, "db", None)).lines()))
        parser.exit(0)


class _Parser(argparse.ArgumentParser):
    """Wrong arguments are an error like any other: one Chinese line, exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"错误：命令参数有误（{message}）；用 {self.prog} --help 查看用法\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="shebao-desk", description="社会保障卡综合服务窗口工作台")
    parser.add_argument("--db", help="数据库文件（默认在用户数据目录；也可用环境变量 SHEBAO_DB）")
    parser.add_argument("--log-level", default="INFO", type=str.upper,
                        choices=["TRAFFIC", "DEBUG", "INFO", "WARNING", "ERROR"])
    parser.add_argument("--training", action="store_true", help="培训模式：使用独立的培训数据库")
    parser.add_argument("--workstation", default=None, help="新库的工作站编号（A、B…）")
    parser.add_argument("--version", action=_ShowVersion, help="显示版本、数据库结构版本和数据文件夹")
    sub = parser.add_subparsers(dest="cmd")
    for register in COMMANDS.values():
        register(sub)
    parser.set_defaults(handler=run_gui)
    return parser


# Subcommands defined beside the code they drive; each registers itself with @command.
PLUGIN_MODULES: tuple[str, ...] = ("shebao_desk.commands.devices", "shebao_desk.commands.documents", "shebao_desk.commands.sync",
                                   "shebao_desk.commands.idcard", "shebao_desk.commands.conflicts",
                                   "shebao_desk.commands.resources", "shebao_desk.commands.catalogue")


def _load_plugins() -> None:
    for module in PLUGIN_MODULES:
        importlib.import_module(module)


def main(argv: Sequence[str] | None = None) -> int:
    owner_only_umask()
    _load_plugins()
    args = build_parser().parse_args(argv)
    try:
        setup_logging(args.log_level, to_file=args.handler is run_gui or bool(args.cmd))
        if args.handler is not run_gui:  # the GUI validates them behind its start dialog
            _policy()  # every data file is validated before anything else happens
        code: int = args.handler(args)
        return code
    except ShebaoError as exc:
        log.error("%s: %s", type(exc).__name__, exc.detail)
        print(f"错误：{exc.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `shebao-desk … | head -1`: the reader has gone; the work itself is done
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # noqa: BLE001 - the one place where any failure becomes one line
        log.error("command %s failed:\n%s", args.cmd or "gui", trace_text(exc))
        print(f"错误：{explain(exc)}", file=sys.stderr)
        return 2
