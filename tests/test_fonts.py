"""The CJK font ships with the project's dependencies and draws Chinese without missing glyphs."""

from __future__ import annotations

import warnings

import matplotlib.pyplot as plt
from matplotlib import font_manager

from tuopin.report.fonts import CJK_FAMILY, cjk_font_path, register_cjk_font, style


def test_cjk_font_resolves_to_the_shipped_file():
    assert register_cjk_font() == CJK_FAMILY
    found = font_manager.findfont(font_manager.FontProperties(family=CJK_FAMILY), fallback_to_default=False)
    assert found == str(cjk_font_path())
    assert cjk_font_path().is_file()


def test_chinese_text_draws_without_missing_glyphs(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Glyph ... missing from font(s)" would raise here
        with style("zh"):
            fig, ax = plt.subplots()
            ax.set_title("商洛市脱贫攻坚：脱贫人数与规划目标（千人）")
            ax.set_xlabel("年份 −5%")
            ax.plot([2016, 2020], [-1, 1], label="模拟中位数，5%–95%区间")
            ax.legend()
            for fmt in ("png", "pdf", "svg"):
                fig.savefig(tmp_path / f"zh.{fmt}")
            plt.close(fig)
    assert (tmp_path / "zh.png").stat().st_size > 0


def test_without_the_font_the_same_text_would_warn(tmp_path):
    """The check above can fail: matplotlib's own font lacks these glyphs and says so."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with plt.rc_context({"font.family": "sans-serif", "font.sans-serif": ["DejaVu Sans"]}):
            fig, ax = plt.subplots()
            ax.set_title("商洛市脱贫")
            fig.savefig(tmp_path / "tofu.png")
            plt.close(fig)
    assert any("missing from font" in str(w.message) for w in caught)
