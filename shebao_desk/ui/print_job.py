"""Printing a PDF in a child process, so rasterising and spooling never hold the window's GIL.

The parent passes the choices made in the print dialog; the child opens its own
(offscreen) Qt, paints the pages onto the printer and exits with 0, or prints the
reason and exits non-zero.

``python -m shebao_desk.ui.print_job PDF [--printer NAME] [--output FILE] [--copies N] [--gray] [--duplex]``
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from shebao_desk.errors import ShebaoError

PRINT_TIMEOUT_S = 300


@dataclass(frozen=True)
class PrintSettings:
    printer: str = ""
    output: str = ""  # print to this PDF file instead of a printer
    copies: int = 1
    gray: bool = False
    duplex: bool = False

    @classmethod
    def from_printer(cls, printer) -> "PrintSettings":
        from PySide6.QtPrintSupport import QPrinter
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
    """Runs the child and waits (on a worker thread; waiting releases the GIL). Returns the page count."""
    env = dict(os.environ)
    if settings.output:
        env["QT_QPA_PLATFORM"] = "offscreen"  # printing to a file needs no screen
    try:
        result = subprocess.run([sys.executable, "-m", "shebao_desk.ui.print_job", str(pdf), *settings.args()],
                                capture_output=True, text=True, timeout=PRINT_TIMEOUT_S, env=env)
    except subprocess.TimeoutExpired:
        raise ShebaoError("打印超时，请检查打印机", f"print job for {pdf} timed out") from None
    if result.returncode != 0:
        raise ShebaoError("打印机无法打印，请检查打印机是否开机、有纸", f"print job failed: {result.stderr.strip()[-500:]}")
    return int(result.stdout.strip() or 0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="shebao_desk.ui.print_job")
    parser.add_argument("pdf", type=Path)
    parser.add_argument("--printer", default="")
    parser.add_argument("--output", default="")
    parser.add_argument("--copies", type=int, default=1)
    parser.add_argument("--gray", action="store_true")
    parser.add_argument("--duplex", action="store_true")
    args = parser.parse_args(argv)
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtPrintSupport import QPrinter

    from shebao_desk.ui.printing import print_pdf
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841 - painting needs it
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    if args.output:
        printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
        printer.setOutputFileName(args.output)
    elif args.printer:
        printer.setPrinterName(args.printer)
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
