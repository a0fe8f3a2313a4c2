"""``shebao-desk devices`` and ``shebao-desk card …``."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shebao_desk.commands.cli import Subparsers, command

if TYPE_CHECKING:  # start-up: pyscard loads only for a card command
    from shebao_desk.devices.operations import Opener



@command("devices")
def _devices(sub: Subparsers) -> None:
    p = sub.add_parser("devices", help="列出读卡器、打印机和扫描仪，检查是否符合规范第九条")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=devices)


def devices(args: argparse.Namespace) -> int:
    from shebao_desk.devices.errors import DeviceError
    from shebao_desk.devices.pcsc import PcscContext
    from shebao_desk.devices.printers import list_printers, live_queues
    from shebao_desk.devices.scanner import list_scanners, sane_available
    readers: list[dict[str, Any]] = []
    problem = None
    try:
        context = PcscContext()
        _, states, _ = context.states(None, 0)
        readers = [{"name": s.name, "card_present": s.present, "atr": s.atr.hex().upper()} for s in states]
    except DeviceError as exc:
        problem = exc.message
    printers = list_printers()
    live = set(live_queues())
    scanners = [{"device": s.device, "vendor": s.vendor, "model": s.model, "type": s.kind} for s in list_scanners()]
    side = _applicant_side([r["name"] for r in readers])
    from shebao_desk.config.site_config import load_site_config
    least = load_site_config().minimums  # Article 9, from site.toml [minimums]
    ok = len(readers) >= least.readers and len(live) >= least.printers and len(scanners) >= least.scanners
    if args.json:
        print(json.dumps({"readers": readers, "printers": printers, "live_printers": sorted(live),
                          "scanners": scanners, "sane_installed": sane_available(), "article_9_met": ok,
                          "problem": problem, "applicant_side": [{"name": d.name, "state": d.state} for d in side]},
                         ensure_ascii=False, indent=2))
        return 0
    print(f"读卡器（{len(readers)} 台）：")
    for r in readers:
        print(f"  {r['name']}　{'有卡' if r['card_present'] else '无卡'}")
    if problem:
        print(f"  {problem}")
    print(f"打印机（{len(printers)} 台，可打印 {len(live)} 台）：")
    for name in printers:
        print(f"  {name}　{'可打印' if name in live else '已暂停或拒绝任务'}")
    print(f"扫描仪（{len(scanners)} 台）：")
    for s in scanners:
        print(f"  {s['vendor']} {s['model']}（{s['device']}）")
    if not sane_available():
        print("  本机未安装 SANE（sane-utils），无法检测扫描仪")
    print(f"规范第九条（读卡器至少 {least.readers} 台、打印机至少 {least.printers} 台、扫描仪至少 {least.scanners} 台）："
          f"读卡器 {len(readers)}、打印机 {len(live)}、扫描仪 {len(scanners)}，{'符合' if ok else '不符合'}")
    from shebao_desk.services.applicant_devices import NOTE
    print(f"申请人侧设备（{NOTE}）：")
    for d in side:
        print(f"  {d.name}：{d.state}")
    return 0


def _applicant_side(readers: list[str]) -> list[Any]:
    """Issue 28's devices: the applicant's screen (its setting: the command line asks no display)
    and the readers with a PIN pad (asked through a direct connection, card or no card)."""
    from shebao_desk.config.applicant_settings import load_applicant_settings
    from shebao_desk.devices.errors import DeviceError
    from shebao_desk.devices.pcsc import shared_context
    from shebao_desk.devices.pinpad import support_of
    from shebao_desk.services.applicant_devices import applicant_side
    pads = []
    for name in readers:
        try:
            if support_of(shared_context().reader_features(name)).usable:
                pads.append(name)
        except DeviceError:
            continue
    return applicant_side(load_applicant_settings(), monitors=None, pin_pad_readers=pads)


@command("card")
def _card(sub: Subparsers) -> None:
    p = sub.add_parser("card", help="读卡、改密码、虚拟卡")
    s = p.add_subparsers(dest="card_cmd", required=True)
    r = s.add_parser("read", help="读取社会保障卡")
    r.add_argument("--reader", help="读卡器名称（可只写开头）")
    r.add_argument("--json", action="store_true")
    r.set_defaults(handler=card_read)
    c = s.add_parser("change-pin", help="修改社会保障卡密码（不回显）")
    c.add_argument("--reader")
    c.set_defaults(handler=card_change_pin)
    v = s.add_parser("simulate", help="把虚拟社会保障卡插入 vpcd 虚拟读卡器")
    v.add_argument("--holder", required=True, type=Path, help="持卡人文件（见 resources/holders/）")
    v.add_argument("--port", type=int, default=None, help="vpcd 端口（默认 35963 或 SHEBAO_VPCD_PORT）")
    v.add_argument("--forever", action="store_true", help="不读标准输入，一直插着直到 Ctrl-C")
    v.set_defaults(handler=card_simulate)


def _opener() -> Opener:
    from shebao_desk.devices.pcsc import shared_context
    return lambda reader: shared_context().connect(reader)


def card_read(args: argparse.Namespace) -> int:
    from shebao_desk.devices.operations import read_card
    info = read_card(_opener(), args.reader)  # an error ends in main(): one line, exit 2
    if args.json:
        print(json.dumps(info.as_json(), ensure_ascii=False))
    else:
        labels = {"reader": "读卡器", "card_number": "卡号", "name": "姓名", "ssn": "社会保障号码", "sex": "性别",
                  "birth_date": "出生日期", "birthplace": "出生地", "spec_version": "规范版本", "issue_date": "发卡日期",
                  "expiry_date": "有效期至"}
        for key, label in labels.items():
            value = getattr(info, key)
            unknown = "未知（卡内未写）" if key == "birthplace" else "无"  # cards issued with 出生地 blank
            print(f"{label}：{unknown if value is None else value}")
    return 0


def card_change_pin(args: argparse.Namespace) -> int:
    from shebao_desk.devices.operations import change_pin
    from shebao_desk.config.site_config import load_site_config
    old = getpass.getpass("原密码：")
    new = getpass.getpass("新密码（6 位数字）：")
    confirm = getpass.getpass("再输一次新密码：")
    change_pin(_opener(), old, new, confirm, initial=load_site_config().initial_pin, reader=args.reader)
    print("密码已修改")
    return 0


def card_simulate(args: argparse.Namespace) -> int:
    """Runs until stdin closes (or Ctrl-C with --forever); stdin lines: ``remove``, ``insert``, ``quit``."""
    from shebao_desk.devices.simulators.virtual_card import VirtualCard, load_holder
    from shebao_desk.devices.simulators.vpcd import DEFAULT_PORT, VpcdSlot, reader_name
    args.port = args.port or DEFAULT_PORT
    slot = VpcdSlot(VirtualCard(load_holder(args.holder)), port=args.port)
    slot.insert()
    print(f"虚拟卡已插入 {reader_name(args.port)}；输入 remove / insert / quit", flush=True)
    try:
        if args.forever:
            threading.Event().wait()
        for line in sys.stdin:
            word = line.strip().lower()
            if word == "remove":
                slot.remove()
                print("removed", flush=True)
            elif word == "insert":
                if not slot.inserted:
                    slot.insert()
                print("inserted", flush=True)
            elif word in ("quit", "exit"):
                break
    except KeyboardInterrupt:
        pass
    finally:
        slot.remove()
    return 0
