"""Printing a PDF in a child process, so rasterising and spooling never hold the window's GIL.

The parent passes the choices made in the print dialog; the child opens its own
(offscreen) Qt, paints the pages onto the printer and exits with 0, or prints the
reason and exits non-zero.

``python -m shebao_desk.ui.print_job PDF [--printer NAME] [--output FILE] [--copies N] [--gray] [--duplex]``
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QRect, QRectF, QSize
from PySide6.QtGui import QGuiApplication, QPainter
from PySide6.QtPdf import QPdfDocument, QPdfDocumentRenderOptions
from PySide6.QtPrintSupport import QPrinter

from shebao_desk.devices import printers
from shebao_desk.errors import ShebaoError

PRINT_TIMEOUT_S = 300
SPOOL_WAIT_S = 120  # how long the queue may take to print our job before the clerk is told
RENDER_DPI = 300
BAND_PX = 96


class PrintError(ShebaoError):
    """The papers did not come out; ``message`` tells the clerk what to fix before 重新打印."""


@dataclass(frozen=True)
class PrintSettings:
    printer: str = ""
    output: str = ""  # print to this PDF file instead of a printer
    copies: int = 1
    gray: bool = False
    duplex: bool = False

    @classmethod
    def from_printer(cls, printer) -> "PrintSettings":
        return cls(printer=printer.printerName(), output=printer.outputFileName(), copies=printer.copyCount(),
                   gray=printer.colorMode() == QPrinter.ColorMode.GrayScale,
                   duplex=printer.duplex() not in (QPrinter.DuplexMode.DuplexNone,))

    def args(self) -> list[str]:
        out = ["--copies", str(self.copies)]
        if self.printer:
            out += ["--printer", self.printer]
        if self.output:
            out += ["--output", self.output]
        if self.gray:
            out.append("--gray")
        if self.duplex:
            out.append("--duplex")
        return out


def print_in_child(pdf: Path, settings: PrintSettings) -> int:
    """Prints and waits (on a worker thread; waiting releases the GIL). Returns the page count.

    To a CUPS queue (Linux, UOS, Kylin) the PDF itself goes to the spooler through ``lp`` in
    a child process, and the papers count as printed only once the job has left the queue. A
    stopped or rejecting queue is refused before anything is sent, so a later 重新打印 cannot
    print twice, and a job stuck on a queue that stops is cancelled. Elsewhere (Windows' spooler,
    a PDF file) a child process paints the pages through Qt.
    """
    if not (settings.printer and not settings.output and printers.cups_available()):
        return _run_child(pdf, settings)
    name = settings.printer
    problem = printers.queue_problem(name)
    if problem:
        raise PrintError(problem, f"queue {name} not ready: {problem}")
    try:
        job = printers.submit(name, str(pdf), title=pdf.stem, copies=settings.copies, gray=settings.gray,
                              duplex=settings.duplex)
    except (OSError, RuntimeError, subprocess.TimeoutExpired) as exc:
        raise PrintError(printers.queue_problem(name) or f"打印机“{name}”没有接收打印任务，请检查后点“重新打印”",
                         f"lp to {name}: {exc}") from None
    problem = printers.wait_until_printed(name, {job}, SPOOL_WAIT_S)
    if problem:
        printers.cancel_jobs(name, {job})
        raise PrintError(problem, f"job {name}-{job}: {problem}")
    return _page_count(pdf)


def print_papers(papers: list[tuple[str, Path]], settings: PrintSettings) -> list[str]:
    """Print a case's papers one after the other (the business form, then the receipt or the notice);
    returns their titles. A paper that does not come out stops the run: the error names what did."""
    done: list[str] = []
    for title, pdf in papers:
        try:
            print_in_child(pdf, settings)
        except PrintError as exc:
            printed = f"（已打印：{'、'.join(done)}）" if done else ""
            raise PrintError(f"{title}未能打印：{exc.message}{printed}", exc.detail) from None
        done.append(title)
    return done


def _page_count(pdf: Path) -> int:
    """Pages of a PDF we wrote ourselves (reportlab, uncompressed page objects); for the status line only."""
    return max(len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf.read_bytes())), 1)


def _run_child(pdf: Path, settings: PrintSettings) -> int:
    env = dict(os.environ)
    if settings.output:
        env["QT_QPA_PLATFORM"] = "offscreen"  # printing to a file needs no screen
    try:
        result = subprocess.run([sys.executable, "-m", "shebao_desk.ui.print_job", str(pdf), *settings.args()],
                                capture_output=True, text=True, timeout=PRINT_TIMEOUT_S, env=env, check=False)
    except subprocess.TimeoutExpired:
        raise PrintError("打印超时，请检查打印机", f"print job for {pdf} timed out") from None
    if result.returncode != 0:
        raise PrintError("打印机无法打印，请检查打印机是否开机、有纸", f"print job failed: {result.stderr.strip()[-500:]}")
    return int(result.stdout.strip() or 0)


def print_pdf(path: Path, printer: QPrinter) -> int:
    """Paint every page of ``path`` onto ``printer``; returns the page count. Runs off the GUI thread."""
    document = QPdfDocument()
    if document.load(str(path)) != QPdfDocument.Error.None_:
        raise ShebaoError("无法打开要打印的文件", f"QPdfDocument.load({path}) failed")
    painter = QPainter()
    if not painter.begin(printer):
        raise ShebaoError("打印机无法开始打印，请检查打印机是否开机、有纸", "QPainter.begin(printer) failed")
    try:
        # 300 dpi is plenty for forms; a "high resolution" printer at 1200 dpi would mean a
        # 140-megapixel image per page, seconds of work that hold Python's GIL.
        dpi = min(printer.resolution(), RENDER_DPI)
        scale = printer.resolution() / dpi
        for page in range(document.pageCount()):
            if page:
                printer.newPage()
            points = document.pagePointSize(page)
            size = QSize(int(points.width() / 72 * dpi), int(points.height() / 72 * dpi))
            # In bands: each render and draw call holds the GIL, so keep every one short.
            for top in range(0, size.height(), BAND_PX):
                height = min(BAND_PX, size.height() - top)
                options = QPdfDocumentRenderOptions()
                options.setScaledSize(size)
                options.setScaledClipRect(QRect(0, top, size.width(), height))
                band = document.render(page, QSize(size.width(), height), options)
                target = QRectF(0, top * scale, size.width() * scale, height * scale)
                painter.drawImage(target, band)
    finally:
        painter.end()
    return document.pageCount()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="shebao_desk.ui.print_job")
    parser.add_argument("pdf", type=Path)
    parser.add_argument("--printer", default="")
    parser.add_argument("--output", default="")
    parser.add_argument("--copies", type=int, default=1)
    parser.add_argument("--gray", action="store_true")
    parser.add_argument("--duplex", action="store_true")
    args = parser.parse_args(argv)
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841 - painting needs it
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    if args.output:
        printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
        printer.setOutputFileName(args.output)
    elif args.printer:
        printer.setPrinterName(args.printer)
    printer.setDocName(args.pdf.stem)  # the job title on the queue
    printer.setCopyCount(max(1, args.copies))
    if args.gray:
        printer.setColorMode(QPrinter.ColorMode.GrayScale)
    if args.duplex:
        printer.setDuplex(QPrinter.DuplexMode.DuplexAuto)
    try:
        pages = print_pdf(args.pdf, printer)
    except ShebaoError as exc:
        print(exc.detail, file=sys.stderr)
        return 2
    print(pages)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
