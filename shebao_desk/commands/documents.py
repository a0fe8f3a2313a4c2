"""``shebao-desk documents sample --out DIR``."""

from __future__ import annotations

import argparse
from pathlib import Path

from shebao_desk.commands.cli import Subparsers, command


@command("documents")
def _documents(sub: Subparsers) -> None:
    p = sub.add_parser("documents", help="打印文书")
    s = p.add_subparsers(dest="documents_cmd", required=True)
    d = s.add_parser("sample", help="用样例数据生成业务办理表、一次性告知单（含大字版）、受理回执和临时挂失回执")
    d.add_argument("--out", type=Path, required=True)
    d.set_defaults(handler=documents_sample)


def documents_sample(args: argparse.Namespace) -> int:
    from shebao_desk.documents.samples import write_samples
    from shebao_desk.config.policy import load_policy
    for path in write_samples(load_policy(), args.out):
        print(path)
    return 0
