"""Scanners through SANE (Linux, UOS, Kylin): list them, scan an area, make the A4 copy of an ID card.

Through ``scanimage`` (Debian's sane-utils), one child process per scan, so a slow or stuck
scanner never holds the window. SANE reads its backends from ``dll.conf`` in
``SANE_CONFIG_DIR`` (tests point it at a directory that enables only the ``test`` backend).
On Windows the same three functions would sit on WIA (``WIA.CommonDialog``/``Wia.DeviceManager``
through comtypes) or TWAIN; not wired yet.

What is kept (Article 13's "A4 copy"): both faces of the ID card scanned at ``ID_DPI`` in colour,
laid out at actual size on an A4 page at the same resolution (2480 × 3508 px), saved as JPEG
(quality ``JPEG_QUALITY``, typically 300–600 KB) in the case folder.
"""

from __future__ import annotations

import io
import logging
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from shebao_desk.devices.errors import DeviceError

log = logging.getLogger(__name__)

ID_DPI = 300
JPEG_QUALITY = 85
ID_CARD_MM = (85.6, 54.0)  # ISO/IEC 7810 ID-1, the resident ID card
ID_AREA_MM = (90.0, 60.0)  # scanned from the bed's corner, with room for a card placed a little off
A4_MM = (210.0, 297.0)
SCAN_TIMEOUT_S = 120


class ScannerError(DeviceError):
    pass


@dataclass(frozen=True)
class Scanner:
    device: str  # the SANE device name, e.g. "genesys:libusb:001:004", "test:0"
    vendor: str
    model: str
    kind: str

    @property
    def label(self) -> str:
        return f"{self.vendor} {self.model}（{self.device}）"


def sane_available() -> bool:
    return shutil.which("scanimage") is not None


def list_scanners(timeout: float = 30) -> list[Scanner]:
    """Every scanner SANE finds; [] when SANE is not installed or finds none."""
    if not sane_available():
        return []
    try:
        out = subprocess.run(["scanimage", "-f", "%d\t%v\t%m\t%t%n"], capture_output=True, text=True,
                             timeout=timeout, check=False).stdout
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.info("cannot list scanners: %s", exc)
        return []
    scanners = []
    for line in out.splitlines():
        parts = line.split("\t")
        if len(parts) == 4 and parts[0]:
            scanners.append(Scanner(*parts))
    return scanners


def count_scanners() -> int | None:
    """Live count for the Article 9 self-check; None where SANE is not installed (then site.toml counts)."""
    return len(list_scanners()) if sane_available() else None


def scan(device: str, *, dpi: int, area_mm: tuple[float, float] | None = None, color: bool = True,
         extra: tuple[str, ...] = ()) -> Image.Image:
    """One pass of the scanner → a Pillow image (RGB or L) whose ``info['dpi']`` is set."""
    if not sane_available():
        raise ScannerError("本机没有安装扫描程序（SANE），无法扫描", "scanimage not found")
    args = ["scanimage", "-d", device, "--format=pnm", "--resolution", str(dpi),
            "--mode", "Color" if color else "Gray"]
    if area_mm:
        args += ["-l", "0", "-t", "0", "-x", f"{area_mm[0]:g}", "-y", f"{area_mm[1]:g}"]
    try:
        result = subprocess.run([*args, *extra], capture_output=True, timeout=SCAN_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        raise ScannerError("扫描仪长时间没有响应，请检查扫描仪电源和连接线", f"scanimage {device} timed out") from None
    except OSError as exc:
        raise ScannerError("无法启动扫描程序", str(exc)) from None
    reason = result.stderr.decode(errors="replace").strip()
    if result.returncode != 0 or not result.stdout:
        lowered = reason.lower()
        if "invalid argument" in lowered or "no such device" in lowered or "open of device" in lowered:
            message = "找不到扫描仪，请检查扫描仪是否已连接、已开机"
        elif "busy" in lowered:
            message = "扫描仪正忙（可能被其他程序占用），请稍后再试"
        elif "jammed" in lowered or "no docs" in lowered or "cover" in lowered:
            message = "扫描仪卡纸、缺纸或盖板未合上，请检查后再扫"
        else:
            message = "扫描失败，请检查扫描仪后再试"
        raise ScannerError(message, f"scanimage {device} exit {result.returncode}: {reason[-300:]}")
    image = Image.open(io.BytesIO(result.stdout))
    image.load()
    image.info["dpi"] = (dpi, dpi)
    return image


def _px(mm: float, dpi: int) -> int:
    return round(mm / 25.4 * dpi)


def id_copy_page(front: Image.Image, back: Image.Image, dpi: int = ID_DPI) -> Image.Image:
    """Both faces at actual size on an A4 page (front above back, centred), white elsewhere."""
    page = Image.new("RGB", (_px(A4_MM[0], dpi), _px(A4_MM[1], dpi)), "white")
    card = (_px(ID_CARD_MM[0], dpi), _px(ID_CARD_MM[1], dpi))
    left = (page.width - card[0]) // 2
    for face, top_mm in ((front, 40.0), (back, 40.0 + ID_CARD_MM[1] + 25.0)):
        face = face.convert("RGB").crop((0, 0, min(card[0], face.width), min(card[1], face.height)))
        page.paste(face, (left, _px(top_mm, dpi)))
    return page


def save_jpeg(image: Image.Image, path: Path, dpi: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    image.save(tmp, "JPEG", quality=JPEG_QUALITY, dpi=(dpi, dpi), optimize=True)
    tmp.replace(path)  # never a half-written scan under the real name
    return path
