"""The applicant's electronic photo: checked against the standard and normalised.

National standard (data in ``site.toml`` [photo]): 358×441 px, 350 dpi, 24-bit
colour, white background, JPEG of 14–40 KB. An imported image is cropped to the
aspect ratio from its centre, scaled, and saved at the highest JPEG quality that
fits the size range. A background that is not white is a warning, not a refusal:
the clerk decides whether to retake the photo.
"""

from __future__ import annotations

import io
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from shebao_desk.errors import ValidationError
from shebao_desk.config.site_config import SiteConfig

log = logging.getLogger(__name__)

MIN_SOURCE_SIDE = 200  # smaller than this cannot make a usable 358×441 photo
WHITE_THRESHOLD = 225  # mean of each channel along the top border


@dataclass
class Photo:
    jpeg: bytes
    width: int
    height: int
    warnings: list[str] = field(default_factory=list)

    @property
    def kb(self) -> float:
        return len(self.jpeg) / 1024


def _background_is_white(img: Image.Image) -> bool:
    """Look at the top strip and the upper corners, where a portrait's background is."""
    w, h = img.size
    strip = img.crop((0, 0, w, max(1, h // 12))).convert("RGB")
    corners = [img.crop((0, 0, w // 8, h // 4)), img.crop((w - w // 8, 0, w, h // 4))]
    for region in [strip, *corners]:
        mean = region.convert("RGB").resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))
        if min(mean) < WHITE_THRESHOLD:  # type: ignore[arg-type]  # an RGB pixel is a tuple
            return False
    return True


def normalise_photo(data: bytes, cfg: SiteConfig) -> Photo:
    try:
        img: Image.Image = Image.open(io.BytesIO(data))
        img.load()
    except (UnidentifiedImageError, OSError) as exc:
        raise ValidationError("无法识别的图片文件，请选择 JPEG 或 PNG 照片", f"photo: {exc}") from None
    img = ImageOps.exif_transpose(img).convert("RGB")
    if min(img.size) < MIN_SOURCE_SIDE:
        raise ValidationError(f"照片太小（{img.size[0]}×{img.size[1]} 像素），请重新拍照",
                              f"photo source {img.size}")
    target = (cfg.photo_width, cfg.photo_height)
    img = ImageOps.fit(img, target, Image.Resampling.LANCZOS, centering=(0.5, 0.4))
    warnings = []
    if not _background_is_white(img):
        warnings.append("照片背景不是白色，标准照片要求白色背景，建议重新拍照")
    jpeg = _fit_size(img, cfg)
    kb = len(jpeg) / 1024
    if not cfg.photo_min_kb <= kb <= cfg.photo_max_kb:
        warnings.append(f"照片文件大小 {kb:.0f} KB，不在标准的 {cfg.photo_min_kb}—{cfg.photo_max_kb} KB 之内")
    return Photo(jpeg, *target, warnings)


def _fit_size(img: Image.Image, cfg: SiteConfig) -> bytes:
    """The highest quality whose file fits under the maximum (plain images may stay below the minimum)."""
    best = b""
    for quality in range(95, 29, -5):
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=quality, dpi=(cfg.photo_dpi, cfg.photo_dpi), optimize=True)
        best = buf.getvalue()
        if len(best) <= cfg.photo_max_kb * 1024:
            break
    return best


# -- the photo station's folder: where windows get photos (a camera's or 高拍仪's software saves there) --

PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


@dataclass(frozen=True)
class PhotoFile:
    """One file in the watched folder, as it was when taken (a file rewritten later is another photo)."""

    path: Path
    modified_ns: int
    size: int


@dataclass(frozen=True)
class TakenPhoto:
    source: PhotoFile
    photo: Photo


def newest_photo_file(folder: Path) -> PhotoFile:
    """The newest image in ``folder`` (not its sub-folders); the clerk's sentence when there is none."""
    if not str(folder).strip() or str(folder) == ".":
        raise ValidationError("没有设置拍照文件夹：请在 site.toml 的 [photo] watch_folder 填写拍照软件保存照片的文件夹，"
                              "或点“导入照片…”选择文件", "no photo folder configured")
    try:
        entries = [e for e in os.scandir(folder) if e.is_file() and e.name.lower().endswith(PHOTO_SUFFIXES)]
    except FileNotFoundError:
        raise ValidationError(f"拍照文件夹“{folder}”不存在：请检查拍照软件保存照片的位置",
                              f"photo folder {folder} missing") from None
    except OSError as exc:
        raise ValidationError(f"无法读取拍照文件夹“{folder}”：{exc.strerror or exc}", f"photo folder {folder}: {exc}") from None
    if not entries:
        raise ValidationError(f"拍照文件夹“{folder}”中还没有照片：请先为申请人拍照", f"photo folder {folder} empty")
    newest = max(entries, key=lambda e: (e.stat().st_mtime_ns, e.name))
    stat = newest.stat()
    return PhotoFile(Path(newest.path), stat.st_mtime_ns, stat.st_size)


def take_newest_photo(folder: Path, cfg: SiteConfig, used: PhotoFile | None = None) -> TakenPhoto:
    """The newest photo of the folder, checked and normalised (``normalise_photo``). ``used``: the file
    the previous applicant's photo came from; taking it again would give this applicant someone else's face."""
    source = newest_photo_file(folder)
    if used is not None and source == used:
        raise ValidationError(f"拍照文件夹中最新的照片（{source.path.name}）已用于上一位申请人：请先为本申请人拍照",
                              f"newest photo {source.path.name} already used")
    try:
        data = source.path.read_bytes()
    except OSError as exc:
        raise ValidationError(f"无法读取照片“{source.path.name}”：{exc.strerror or exc}", f"photo {source.path}: {exc}") from None
    return TakenPhoto(source, normalise_photo(data, cfg))
