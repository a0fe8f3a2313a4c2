"""``shebao-desk resources schema --out DIR``: the JSON Schema of each data file, for editors."""

from __future__ import annotations

import argparse
from pathlib import Path

from shebao_desk.commands.cli import Subparsers, command


@command("resources")
def _resources(sub: Subparsers) -> None:
    p = sub.add_parser("resources", help="县区数据文件")
    s = p.add_subparsers(dest="resources_cmd", required=True)
    d = s.add_parser("schema", help="导出每个数据文件的 JSON Schema（供编辑器校验和设置页使用）")
    d.add_argument("--out", type=Path, required=True)
    d.set_defaults(handler=resources_schema)


def resources_schema(args: argparse.Namespace) -> int:
    from shebao_desk.config.schemas import write_schemas
    for path in write_schemas(args.out):
        print(path)
    return 0
