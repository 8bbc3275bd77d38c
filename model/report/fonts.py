"""The CJK font for Chinese figure text.

The font file (Noto Sans SC, SIL Open Font License) comes inside a PyPI package that is one of
tuopin's dependencies, so nothing is downloaded at run time. :func:`style` registers it with
matplotlib (once) and puts it first (Chinese figures) or second (English figures, where it only
fills in Chinese names such as counties).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib.resources import files
from pathlib import Path
import matplotlib
from matplotlib import font_manager

from tuopin.report.labels import LANGS, Lang

CJK_PACKAGE = "pylopdf_fonts_zh_cn"
"""The installed package that ships the font file (``pylopdf-fonts-zh-cn`` on PyPI)."""
CJK_FILE = "NotoSansSC-Regular.otf"
CJK_FAMILY = "Noto Sans SC"
LATIN_FAMILY = "DejaVu Sans"  # matplotlib's own

__all__ = ["CJK_FAMILY", "LANGS", "Lang", "cjk_font_path", "families", "register_cjk_font", "style"]


def cjk_font_path() -> Path:
    """Path of the Noto Sans SC file inside the installed font package."""
    return Path(str(files(CJK_PACKAGE).joinpath(CJK_FILE)))


def register_cjk_font() -> str:
    """Make the CJK font known to matplotlib (once); return its family name."""
    path = cjk_font_path()
    if not any(Path(f.fname) == path for f in font_manager.fontManager.ttflist):
        font_manager.fontManager.addfont(str(path))
    return CJK_FAMILY


def families(lang: Lang) -> list[str]:
    """Font families in order of preference for figures in ``lang`` (the rest is fallback)."""
    return [CJK_FAMILY, LATIN_FAMILY] if lang == "zh" else [LATIN_FAMILY, CJK_FAMILY]


@contextmanager
def style(lang: Lang) -> Iterator[None]:
    """Matplotlib settings for one figure language (the CJK font registered), restored on exit."""
    register_cjk_font()
    with matplotlib.rc_context({"font.family": families(lang)}):
        yield
