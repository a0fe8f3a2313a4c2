"""Synthetic but valid people, cards and cases of every business type.

For training stores and benchmarks. Every record goes through the same intake
service the window uses, so the demo data obeys the rules (and exercises them).
"""

from __future__ import annotations

import datetime as dt
import random
import zlib
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from shebao_desk.services.auth import create_clerk
from shebao_desk.config.catalogue import Mode
from shebao_desk.clock import CHINA, now_utc
from shebao_desk.rules.idnumber import make_id_number
from shebao_desk.services.intake import accept_case, complete_case, find_person
from shebao_desk.services.case_request import AgentInput, ApplicantInput, CaseRequest
from shebao_desk.models import Clerk, Role, Site
from shebao_desk.config.policy import Policy
from shebao_desk.store.site_identity import ensure_site
from shebao_desk.store.database import Store

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国文博晨曦子涵浩然欣怡"
TOWNS = ["商州区北新街", "商州区工农路", "洛南县城关街道", "丹凤县龙驹寨街道", "山阳县城关街道", "镇安县永乐街道"]
SHANGLUO = ["611002", "611021", "611022", "611023", "611024", "611025", "611026"]
# After the first application, each person does one more business (cycled), so
# every business type appears and each follows the card's state machine. The people with no
# follow-up had their card made on the spot (即时制卡申领) instead of applying.
FOLLOW_UPS = ["activate", "temp_loss", "lift_loss", "formal_loss", "replace", "pin_reset",
              "pin_change", "info_change", "cancel", "pin_unlock", "temp_card", "instant_replace",
              "instant_reissue", None]
# What a follow-up brings with it: the loss before a reissue, the lift after a temporary loss.
CHAINS = {"lift_loss": ["temp_loss", "lift_loss"], "formal_loss": ["formal_loss", "reissue"],
          "instant_reissue": ["formal_loss", "instant_reissue"]}
DEMO_PASSWORD = "demo-pass-1"


@dataclass
class SeedResult:
    people: int
    cases: int


def _person(rng: random.Random, i: int, today: dt.date) -> ApplicantInput:
    birth = today - dt.timedelta(days=rng.randint(20 * 365, 85 * 365))
    region = rng.choice(SHANGLUO)
    number = make_id_number(region, birth, i % 1000)
    name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
    return ApplicantInput(id_number=number, name=name, phone=f"1{rng.randint(3, 9)}{rng.randint(0, 10**9 - 1):09d}",
                          address=f"商洛市{rng.choice(TOWNS)}{rng.randint(1, 300)}号")


def _demo_clerk(store: Store, workstation: str) -> Clerk:
    with store.unit(None, workstation, "demo clerk") as s:
        clerk = s.scalar(select(Clerk).where(Clerk.username == "demo"))
        if clerk is None:
            clerk = create_clerk(s, "demo", "演示经办员", DEMO_PASSWORD, Role.CLERK)
        return clerk


def seed(store: Store, policy: Policy, n: int, *, workstation: str = "A", seed_value: int = 2026,
         now: dt.datetime | None = None, batch: int = 200) -> SeedResult:
    rng = random.Random(f"{seed_value}-{workstation}")
    now = now or now_utc()
    with store.unit(None, workstation, "demo site") as s:
        ensure_site(s, policy.site, workstation)
    clerk = _demo_clerk(store, workstation)
    cases = 0
    taken: set[str] = set()
    i = 0
    done = 0
    while done < n:
        with store.unit(clerk.id, workstation, "demo seed") as s:
            site = ensure_site(s, policy.site, workstation)
            clerk_here = s.merge(clerk, load=False)
            for _ in range(min(batch, n - done)):
                i += 1
                applicant = _person(rng, i + 1000 * rng.randint(0, 10**6), now.astimezone(CHINA).date())
                if applicant.id_number in taken or find_person(s, applicant.id_number) is not None:
                    continue
                taken.add(applicant.id_number)
                when = now - dt.timedelta(days=rng.randint(20, 60), minutes=rng.randint(0, 480))
                follow = FOLLOW_UPS[done % len(FOLLOW_UPS)]
                first = "apply" if follow else "instant_apply"
                apply = accept_case(s, CaseRequest(first, Mode.SELF, applicant, {"id_original", "id_copy", "photo"},
                                                   card_number=_card_number(applicant, first)),
                                    clerk_here, site, policy, when)
                cases += 1
                if first == "apply":
                    complete_case(s, apply.case, clerk_here, when + dt.timedelta(days=10))
                later = when + dt.timedelta(days=12, minutes=rng.randint(0, 300))
                for business in CHAINS.get(follow or "", [follow] if follow else []):
                    cases += _follow_up(s, policy, clerk_here, site, applicant, business, later)
                    later += dt.timedelta(hours=1)
                done += 1
    return SeedResult(done, cases)


def _follow_up(s: Session, policy: Policy, clerk: Clerk, site: Site, applicant: ApplicantInput, business: str,
               when: dt.datetime) -> int:
    mode = Mode.AGENT if business == "cancel" else Mode.SELF
    materials = set(policy.catalogue[business].required(mode))
    agent = AgentInput("张家属", make_id_number("611002", dt.date(1970, 5, 5), 11), "子女") if mode is Mode.AGENT else None
    changes = {"phone": "13900000000"} if business == "info_change" else {}
    reasons = policy.catalogue[business].reasons
    if business in ("replace", "instant_replace"):
        reason = "卡面损坏"
    else:  # a business that must give a reason takes the first listed (注销: 死亡)
        reason = reasons[0].text if policy.catalogue[business].reason_required and reasons else ""
    accept_case(s, CaseRequest(business, mode, applicant, materials, agent=agent, changes=changes, reason=reason,
                               card_number=_card_number(applicant, business)),
                clerk, site, policy, when)
    return 1


def _card_number(applicant: ApplicantInput, business: str) -> str:
    """The number of a card handed over on the spot, unique with the person (a letter and 8 digits)."""
    digits = f"{zlib.crc32(applicant.id_number.encode()) % 10**8:08d}"
    return {"temp_card": "LS" + digits, "instant_apply": "D" + digits, "instant_reissue": "E" + digits,
            "instant_replace": "F" + digits}.get(business, "")
