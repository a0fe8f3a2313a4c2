"""Statistics out of the program: XLSX (openpyxl) and PDF (reportlab), for the supervisor or a scheduled job."""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from reportlab.lib.units import mm
from reportlab.platypus import Spacer

from shebao_desk.errors import ShebaoError
from shebao_desk.services.statistics import HEADERS, Period, StatRow, as_table


def write_xlsx(out: Path | io.BytesIO, title: str, period: Period, sections: list[tuple[str, list[StatRow]]]) -> None:
    book = Workbook()
    book.remove(book.active)
    for name, rows in sections:
        sheet = book.create_sheet(name[:31])
        sheet.append([f"{title}（{period.label}）"])
        sheet["A1"].font = Font(bold=True, size=13)
        sheet.append([name, *HEADERS[1:]])
        for cell in sheet[2]:
            cell.font = Font(bold=True)
            cell.alignment = Alignment(horizontal="center")
        for row in as_table(rows):
            sheet.append(row)
        sheet.column_dimensions["A"].width = 18
        for col in "BCDEFG":
            sheet.column_dimensions[col].width = 12
    _save(lambda target: book.save(target), out)


def write_pdf(out: Path | io.BytesIO, title: str, period: Period, sections: list[tuple[str, list[StatRow]]]) -> None:
    from shebao_desk.documents.render import Renderer  # noqa: PLC0415 - start-up: reportlab only for a PDF report
    r = Renderer()
    story = [r.p(f"{title}", "title"), r.p(period.label, "small")]
    for name, rows in sections:
        story += [r.p(name, "heading"), r.grid([[r.p(h, "label") for h in [name, *HEADERS[1:]]]] +
                                               [[r.p(v) for v in row] for row in as_table(rows)],
                                               [0.22, 0.12, 0.14, 0.12, 0.14, 0.12, 0.14]), Spacer(1, 4 * mm)]

    _save(lambda target: r.build_story(story, target, title), out)


def _save(write: Callable[[Path | io.BytesIO], None], out: Path | io.BytesIO) -> None:
    """Files appear whole or not at all: written beside the target, then renamed."""
    if not isinstance(out, Path):
        write(out)
        return
    tmp = out.with_name(f".{out.name}.part")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        write(tmp)
        os.replace(tmp, out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ShebaoError(f"无法写入文件：{exc}", repr(exc)) from exc


def export(out: Path, title: str, period: Period, sections: list[tuple[str, list[StatRow]]]) -> None:
    suffix = out.suffix.lower()
    if suffix == ".xlsx":
        write_xlsx(out, title, period, sections)
    elif suffix == ".pdf":
        write_pdf(out, title, period, sections)
    else:
        raise ShebaoError("导出文件的扩展名应为 .xlsx 或 .pdf", f"unsupported {suffix}")
