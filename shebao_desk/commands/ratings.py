"""``shebao-desk report ratings --month YYYY-MM [--json]``: 满意率 per clerk and the open 差评."""

from __future__ import annotations

import argparse
import json
from typing import Any

from shebao_desk.clock import local_day, now_utc
from shebao_desk.errors import ShebaoError


def add_ratings_parser(sub: Any) -> None:
    r = sub.add_parser("ratings", help="好差评：各经办人满意率和未整改的差评（国办发〔2019〕51号）")
    r.add_argument("--month", required=True, help="YYYY-MM")
    r.add_argument("--json", action="store_true", help="输出 JSON")
    r.set_defaults(handler=ratings_command)


def ratings_command(args: argparse.Namespace) -> int:
    from shebao_desk.store.database import open_store, resolve_db_path
    from shebao_desk.config.applicant_settings import load_applicant_settings
    from shebao_desk.services.ratings import ratings_report, report_dict, report_text
    from shebao_desk.services.statistics import month
    try:
        period = month(args.month)
    except ValueError as exc:
        raise ShebaoError(str(exc)) from None
    settings = load_applicant_settings()
    with open_store(resolve_db_path(args.db)).read() as session:
        report = ratings_report(session, settings, period, local_day(now_utc()))
    if args.json:
        print(json.dumps(report_dict(report, settings), ensure_ascii=False, indent=1))
    else:
        print(report_text(report, settings))
    return 0
