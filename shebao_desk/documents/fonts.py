"""Finding and embedding TrueType CJK fonts, with per-character fallback for rare characters.

Order: the path configured in the layout file → the candidates listed there
(Windows, UOS/Kylin, Debian) → a clear error naming what to install. A character
the main font lacks is set in the first fallback font that has it; a character
no font has is an error naming it, never a silent blank box.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from xml.sax.saxutils import escape

import re

from reportlab.pdfbase import pdfmetrics, ttfonts
from reportlab.pdfbase.ttfonts import TTFont, TTFError

from shebao_desk.errors import ShebaoError
from shebao_desk.config.resources import resources_dir

log = logging.getLogger(__name__)


_reportlab_to_unicode = ttfonts.makeToUnicodeCMap
_WIDE_ENTRY = re.compile(r"<([0-9A-F]{2})> <([0-9A-F]{5,6})>")


def _utf16_hex(match: re.Match[str]) -> str:
    return f"<{match.group(1)}> <{chr(int(match.group(2), 16)).encode('utf-16-be').hex().upper()}>"


def _to_unicode_cmap(fontname: str, subset: list[int]) -> str:
    """reportlab writes characters beyond U+FFFF (e.g. 𠮷) into the ToUnicode map as 5 hex
    digits, which PDF readers misread; the map wants them as UTF-16 surrogate pairs."""
    return _WIDE_ENTRY.sub(_utf16_hex, _reportlab_to_unicode(fontname, subset))


ttfonts.makeToUnicodeCMap = _to_unicode_cmap


class FontError(ShebaoError):
    pass


class MissingGlyphError(ShebaoError):
    def __init__(self, chars: list[str], hint: str) -> None:
        shown = "、".join(f"“{c}”(U+{ord(c):04X})" for c in chars)
        super().__init__(f"已安装的字体中没有这些字：{shown}，无法打印。请安装生僻字字体（{hint}）或改用通用写法。",
                         f"no glyph for {[hex(ord(c)) for c in chars]}")
        self.chars = chars


@dataclass(frozen=True)
class FontSet:
    main: str
    main_path: str
    fallbacks: tuple[tuple[str, frozenset[int]], ...]
    coverage: frozenset[int]
    hint: str

    def markup(self, text: str) -> str:
        """Escaped paragraph markup with rare characters switched to a fallback font."""
        out, missing = [], []
        run_font, run = None, ""
        for ch in text:
            code = ord(ch)
            font: str | None = None
            if code not in self.coverage and ch not in "\n\r\t":
                font = next((name for name, cov in self.fallbacks if code in cov), "")
                if font == "":
                    missing.append(ch)
                    continue
            if font != run_font and run:
                out.append(self._wrap(run_font, run))
                run = ""
            run_font = font
            run += ch
        if run:
            out.append(self._wrap(run_font, run))
        if missing:
            raise MissingGlyphError(sorted(set(missing)), self.hint)
        return "".join(out)

    @staticmethod
    def _wrap(font: str | None, text: str) -> str:
        return escape(text) if font is None else f'<font face="{font}">{escape(text)}</font>'

    def check(self, texts: list[str]) -> None:
        for text in texts:
            if text:
                self.markup(text)


def _load(path: str, name: str) -> TTFont | None:
    p = Path(path)
    if not p.is_absolute():  # e.g. "fonts/x.ttc": a font shipped in resources/ (the Windows build's)
        p = resources_dir() / p
    if not p.is_file():
        return None
    try:
        font = TTFont(name, str(p), subfontIndex=0) if p.suffix.lower() == ".ttc" else TTFont(name, str(p))
    except (TTFError, OSError, ValueError) as exc:
        log.info("font %s not usable: %s", path, exc)  # e.g. CFF outlines (OTF), which reportlab cannot embed
        return None
    pdfmetrics.registerFont(font)
    return font


@lru_cache(maxsize=4)
def load_fonts(configured: str, candidates: tuple[str, ...], fallbacks: tuple[str, ...], hint: str) -> FontSet:
    """Registered once per process: loading a CJK font takes far longer than a page."""
    tried = ([configured] if configured else []) + list(candidates)
    for path in tried:
        font = _load(path, "ShebaoMain")
        if font is not None:
            break
    else:
        if configured:
            raise FontError(f"配置的字体文件 {configured} 不存在或不是 TrueType 字体，请检查 layout.toml 的 fonts.path",
                            f"configured font {configured} unusable; tried {tried}")
        raise FontError(f"找不到可嵌入 PDF 的中文字体。请安装：{hint}", f"no TrueType CJK font among {tried}")
    extra = []
    for i, fallback_path in enumerate(fallbacks):
        fb = _load(fallback_path, f"ShebaoFallback{i}")
        if fb is not None:
            extra.append((fb.fontName, frozenset(fb.face.charToGlyph)))
    log.info("documents font %s (+%d fallbacks)", path, len(extra))
    return FontSet("ShebaoMain", path, tuple(extra), frozenset(font.face.charToGlyph), hint)
