"""One-page printouts beside the case papers: the self-check and the service guide."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import Spacer

from shebao_desk.documents.render import Renderer
from shebao_desk.config.service_guide import ServiceGuide


class CheckLine(Protocol):
    """One line of the self-check (``services.window_check.Check``): papers know its shape, not the check."""

    @property
    def article(self) -> str: ...
    @property
    def rule(self) -> str: ...
    @property
    def required(self) -> str: ...
    @property
    def actual(self) -> str: ...
    @property
    def passed(self) -> bool: ...


def self_check_pdf(checks: Sequence[CheckLine], site_name: str, when: str, out: Path | io.BytesIO) -> None:
    r = Renderer()
    rows = [[r.p(h, "label") for h in ("条款", "检查项目", "要求", "实际", "结果")]]
    rows += [[r.p(c.article), r.p(c.rule), r.p(c.required), r.p(c.actual), r.p("符合" if c.passed else "不符合")]
             for c in checks]
    failed = [i + 1 for i, c in enumerate(checks) if not c.passed]
    table = r.grid(rows, [0.12, 0.3, 0.22, 0.2, 0.16],
                   [("BACKGROUND", (4, i), (4, i), colors.HexColor("#ffd6d6")) for i in failed])
    passed = sum(c.passed for c in checks)
    story = [r.p("社会保障卡综合服务窗口自查表", "title"), r.p(f"{site_name}　{when}", "small"), Spacer(1, 3 * mm), table,
             Spacer(1, 3 * mm), r.p(f"共 {len(checks)} 项，符合 {passed} 项，不符合 {len(checks) - passed} 项。"),
             Spacer(1, 12 * mm), r.p("检查人：　　　　　　　　　　负责人：　　　　　　　　　　日期：")]
    r.build_story(story, out, "社会保障卡综合服务窗口自查表")


def guide_pdf(guide: ServiceGuide, out: Path | io.BytesIO, *, large: bool = True) -> None:
    r = Renderer(large=large)
    story = [r.p(guide.title, "title")]
    for heading, text in guide.sections:
        story += [r.p(heading, "heading"), r.p(text)]
    story.append(r.p("服务流程", "title"))
    for title, steps in guide.flows:
        story += [r.p(title, "heading"), r.p(" → ".join(f"{i}. {s}" for i, s in enumerate(steps, 1)))]
    r.build_story(story, out, guide.title)
