"""Bank outlets (Article 11) and their supervision (Article 12): the rule and the checklist."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shebao_desk.clock import local_text, now_utc
from shebao_desk.config.supervision import SupervisionRules
from shebao_desk.errors import ValidationError
from shebao_desk.models import Clerk, Outlet, SupervisionVisit


def article_11(outlet: Outlet, rules: SupervisionRules) -> list[str]:
    """What the outlet lacks under Article 11; empty when it complies."""
    problems = []
    if outlet.card_windows < rules.min_card_windows:
        problems.append(f"社会保障卡服务窗口不足 {rules.min_card_windows} 个")
    if outlet.town_population > rules.population_threshold:
        if outlet.atms < 1:
            problems.append(f"所在镇人口超过 {rules.population_threshold} 人，应设自助银行（至少 1 台 ATM）")
    elif outlet.atms + outlet.terminals < 1:
        problems.append("应至少设置 1 台自助查询终端")
    return problems


# Services for the outlets page: the caller owns the unit of work (session), as elsewhere in the core.

def outlet_rows(session: Session, rules: SupervisionRules) -> tuple[list[list[str]], list[str], list[list[str]]]:
    """Outlet rows with their Article 11 verdict, their ids, and the supervision visits (newest first)."""


    texts = dict(rules.checklist)
    outlets = list(session.scalars(select(Outlet).order_by(Outlet.name)))
    names = {o.id: o.name for o in outlets}
    clerks = {c.id: c.display_name for c in session.scalars(select(Clerk))}
    visits = session.scalars(select(SupervisionVisit).order_by(SupervisionVisit.visited_at.desc()))
    rows = [[o.name, o.bank, o.town, str(o.town_population), str(o.card_windows), str(o.atms),
             str(o.terminals), "；".join(article_11(o, rules)) or "符合"] for o in outlets]
    visit_rows = [[local_text(v.visited_at), names.get(v.outlet_id, ""), clerks.get(v.clerk_id, ""),
                   "、".join(texts.get(k, k) for k, ok in v.checklist.items() if not ok) or "无",
                   v.findings] for v in visits]
    return rows, [o.id for o in outlets], visit_rows


def save_outlet(session: Session, values: dict[str, Any], rules: SupervisionRules) -> list[str]:
    """Insert or update the outlet named ``values["name"]``; returns what it lacks under Article 11."""


    if not values.get("name"):
        raise ValidationError("请填写网点名称")
    outlet = session.scalar(select(Outlet).where(Outlet.name == values["name"])) or Outlet()
    for k, v in values.items():
        setattr(outlet, k, v)
    session.add(outlet)
    session.flush()
    return article_11(outlet, rules)


def record_visit(session: Session, outlet_id: str, clerk_id: str, checklist: dict[str, bool], findings: str) -> None:

    session.add(SupervisionVisit(outlet_id=outlet_id, clerk_id=clerk_id, visited_at=now_utc(),
                                 checklist=checklist, findings=findings))
