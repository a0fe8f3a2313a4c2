"""``shebao-desk catalogue [--json]``: every business as this window's data files define it."""

from __future__ import annotations

import argparse
import json
from typing import Any

from shebao_desk.commands.cli import command

PLACES = {"window": "本窗口", "bank": "发卡银行网点"}


@command("catalogue")
def _catalogue(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser("catalogue", help="业务目录：每项业务的办理地点、收费、收费方、时限、原因和材料（businesses.toml、site.toml）")
    p.add_argument("--json", action="store_true", help="以 JSON 输出")
    p.set_defaults(handler=catalogue)


def catalogue(args: argparse.Namespace) -> int:
    from shebao_desk.config.catalogue import Mode, describe
    from shebao_desk.config.policy import load_policy
    policy = load_policy()
    businesses = describe(policy.catalogue, policy.site.done_at, policy.site.temp_loss_days)
    if args.json:
        print(json.dumps({"businesses": businesses, "temp_card_valid_days": policy.catalogue.temp_card.valid_days},
                         ensure_ascii=False, indent=1))
        return 0
    for b in businesses:
        offered = "" if b["offered"] else "（本窗口不办）"
        days = f"{b['days']} 个工作日" if b["days"] else "当场办结"
        print(f"{b['name']}（{b['code']}）{offered}：{PLACES[str(b['place'])]}，{days}，{b['fee_text']}")
        reasons = b["reasons"]
        if isinstance(reasons, list) and reasons:
            print("  原因：" + "、".join(str(r["text"]) for r in reasons))
        materials = b["materials"]
        if isinstance(materials, dict):
            for mode, items in materials.items():
                print(f"  {Mode(mode).label}：" + "、".join(str(m["name"]) for m in items))
    return 0
