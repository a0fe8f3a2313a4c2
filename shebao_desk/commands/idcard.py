"""``shebao-desk idcard read`` and ``shebao-desk idcard simulate`` (the resident ID card reader)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import threading
from pathlib import Path

from shebao_desk.commands.cli import Subparsers, command
from shebao_desk.errors import ShebaoError


@command("idcard")
def _idcard(sub: Subparsers) -> None:
    p = sub.add_parser("idcard", help="居民身份证阅读器（GA 467 串口协议）")
    s = p.add_subparsers(dest="idcard_cmd", required=True)
    r = s.add_parser("read", help="读取阅读器上的身份证")
    r.add_argument("--port", required=True, help="串口：/dev/ttyUSB0、/dev/ttyACM0、COM3…")
    r.add_argument("--json", action="store_true")
    r.set_defaults(handler=idcard_read)
    m = s.add_parser("simulate", help="在伪终端上模拟身份证阅读器（培训、测试）")
    m.add_argument("--card", type=Path, help="身份证文件（见 resources/idcards/）；不给则阅读器上无证")
    m.add_argument("--forever", action="store_true", help="不读标准输入，一直运行直到 Ctrl-C")
    m.set_defaults(handler=idcard_simulate)


def idcard_read(args: argparse.Namespace) -> int:
    from shebao_desk.devices.idcard import read_id_card
    from shebao_desk.rules.id_documents import IdDocument
    info = read_id_card(args.port)
    problem = info.validity_problem(dt.date.today())
    if args.json:
        print(json.dumps({**info.as_json(), "valid_now": problem is None}, ensure_ascii=False))
    else:
        foreign = info.kind is IdDocument.FOREIGN_PERMANENT  # its number is not a 公民身份号码
        number_label = "永久居留身份证号码" if foreign else "公民身份号码"
        labels = (("证件类型", info.kind_name), ("姓名", info.name), ("英文姓名", info.english_name),
                  ("性别", info.sex_label), ("民族", info.ethnicity), ("国籍或地区", info.nationality),
                  ("出生日期", info.birth_date.isoformat()), ("住址", info.address), (number_label, info.id_number),
                  ("通行证号码", info.pass_number), ("签发次数", info.issue_count), ("签发机关", info.authority),
                  ("证件版本号", info.card_version),
                  ("有效期限", f"{info.valid_from.isoformat()} 至 {info.as_json()['valid_to']}"))
        for label, value in labels:
            if value:  # each document has only some of these
                print(f"{label}：{value}")
    if problem:
        print(problem, file=sys.stderr)
    return 0


def idcard_simulate(args: argparse.Namespace) -> int:
    """Prints the pty path; stdin lines: ``remove``, ``put FILE``, ``quit``."""
    from shebao_desk.devices.simulators.idcard_sim import IdCardSimulator, load_card
    try:
        card = load_card(args.card) if args.card else None
    except (OSError, ValueError) as exc:
        raise ShebaoError(f"身份证文件 {args.card} 有误", str(exc)) from None
    with IdCardSimulator(card) as sim:
        print(sim.path, flush=True)
        try:
            if args.forever:
                threading.Event().wait()
            for line in sys.stdin:
                word, _, rest = line.strip().partition(" ")
                if word == "remove":
                    sim.put(None)
                elif word == "put" and rest:
                    sim.put(load_card(Path(rest)))
                elif word in ("quit", "exit"):
                    break
                print("ok", flush=True)
        except KeyboardInterrupt:
            pass
    return 0
