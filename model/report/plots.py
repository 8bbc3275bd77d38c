"""Figures for reports: exits against the plan, with uncertainty bands (Chinese text in the CJK
font shipped with tuopin, see :mod:`tuopin.report.fonts`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from tuopin.report import fonts
from tuopin.report.labels import Lang, text


def people_unit(largest: float, lang: Lang) -> tuple[float, str]:
    """Divisor and unit word for counts of people up to ``largest``: thousands in English,
    万 in Chinese (plain people below ten thousand)."""
    if lang == "zh":
        return (1.0, "人") if largest < 1e4 else (1e4, "万人") if largest < 1e8 else (1e8, "亿人")
    return (1.0, "") if largest < 1e4 else (1e3, "thousands") if largest < 1e7 else (1e6, "millions")


def with_unit(label: str, unit: str, lang: Lang) -> str:
    """``label (unit)`` in the language's brackets; just the label when there is no unit."""
    if not unit:
        return label
    return f"{label}（{unit}）" if lang == "zh" else f"{label} ({unit})"


PALETTE: dict[str, Any] = {"sim": "#D55E00", "sim2": "#0072B2", "plan": "#555555", "plan_fill": "#cfd8e3", "text": "#222f3e",
           "cycle": ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]}
"""Okabe-Ito colours (safe for the common colour-vision deficiencies), for every figure."""

DPI = 200
"""Resolution of every PNG written."""


def source_line(scenario: str, scale: float, replicates: int, seed: int, lang: Lang,
                version: str | None = None) -> str:
    """The line printed at the foot of every figure: model version, scenario, scale, replicates,
    seed, and that the numbers are simulated."""
    if version is None:
        from importlib.metadata import version as package_version

        version = package_version("tuopin")
    return text("source", lang, version=version, scenario=scenario, scale=scale, replicates=replicates, seed=seed)


def add_source(fig: Figure, source: str | None) -> None:
    """Print ``source`` small at the figure's bottom left, below the axes (call after tight_layout)."""
    if not source:
        return
    height = fig.get_figheight()
    fig.subplots_adjust(bottom=fig.subplotpars.bottom + 0.22 / height)
    fig.text(0.01, 0.06 / height, source, fontsize=6.5, color="#555555", ha="left", va="bottom")


def tidy_ticks(ax: Axes, axis: str = "y") -> None:
    """One number format on an axis: thousands separators, and the fewest decimals that show
    every tick exactly, the same on every tick (never "0.0" beside "1,000")."""
    target = ax.yaxis if axis == "y" else ax.xaxis

    def fmt(value: float, _pos: int) -> str:
        locs = np.asarray(target.get_majorticklocs(), dtype=float)
        decimals = next((d for d in range(4) if np.allclose(np.round(locs, d), locs, rtol=0, atol=1e-9)), 4)
        return f"{value:,.{decimals}f}"

    target.set_major_formatter(FuncFormatter(fmt))


def exits_figure(summary: pd.DataFrame, title: str, lang: Lang = "en", source: str | None = None) -> Figure:
    """Bars: the plan's exits per year; points and whiskers: simulated median and 5-95% band of
    declared exits; under each year the chance of meeting that year's target with its 95% interval."""
    years = summary["year"].to_numpy()
    scale, unit = people_unit(max(summary["target_exits"].max(), summary["exits_q95"].max()), lang)
    fig, ax = plt.subplots(figsize=(8, 4.8))
    ax.bar(years, summary["target_exits"] / scale, width=0.6, color=PALETTE["plan_fill"], edgecolor=PALETTE["plan"],
           label=text("plan_target", lang))
    med = summary["exits_median"] / scale
    err = np.vstack([med - summary["exits_q05"] / scale, summary["exits_q95"] / scale - med])
    ax.errorbar(years, med, yerr=err, fmt="o-", color=PALETTE["sim"], capsize=5, lw=2,
                label=text("simulated_band", lang, n=int(summary["replicates"].iloc[0])))
    for x, p, lo, hi in zip(years, summary["p_meet_target"], summary["p_meet_target_low"],
                            summary["p_meet_target_high"]):
        if not np.isnan(p):
            ax.annotate(text("p_meet", lang, p=p, lo=lo, hi=hi), (x, 0), xytext=(0, 4), textcoords="offset points",
                        ha="center", fontsize=7.5, color=PALETTE["text"])
    ax.set_xticks(years)
    ax.set_xlabel(text("year", lang))
    ax.set_ylabel(with_unit(text("exits_axis", lang), unit, lang))
    ax.set_title(title, fontsize=11)
    ax.grid(axis="y", alpha=0.3)
    tidy_ticks(ax)
    ax.set_ylim(top=ax.get_ylim()[1] * 1.12)  # room for the legend above the tallest bar
    ax.legend(frameon=False, fontsize=9, loc="upper left", ncols=2)
    fig.tight_layout()
    add_source(fig, source)
    return fig


def exits_vs_target(summary: pd.DataFrame, path: Path, title: str, lang: Lang = "en", source: str | None = None) -> None:
    """Write :func:`exits_figure` to ``path``."""
    with fonts.style(lang):
        fig = exits_figure(summary, title, lang, source)
        fig.savefig(path, dpi=DPI)
    plt.close(fig)


def differences(summary: pd.DataFrame, path: Path, title: str, names: dict[str, str], lang: Lang = "en",
                source: str | None = None) -> None:
    """One panel per compared quantity: each variant's median difference from the base (line) with
    its 5-95% band (shaded), against a zero line. Each panel has its own y scale because each
    quantity has its own unit. A panel says which direction is better only where one is (fewer
    relapses are not better when they come from fewer exits). ``names`` maps variant names to
    the words shown in the legend."""
    with fonts.style(lang):
        quantities = list(dict.fromkeys(summary["quantity"]))
        fig, axes = plt.subplots(1, len(quantities), figsize=(3.3 * len(quantities), 3.9), squeeze=False)
        for ax, quantity in zip(axes[0], quantities):
            rows = summary[summary["quantity"] == quantity]
            largest = max(rows["base_median"].abs().max(), rows["difference_q95"].abs().max(), rows["difference_q05"].abs().max())
            if quantity == "spending":
                scale, unit = money_unit(largest, lang)
            elif quantity == "cost_per_sustained_exit":
                scale, unit = 1.0, text("yuan_per_person", lang)
            else:
                scale, unit = people_unit(largest, lang)
                unit = unit or text("people_unit", lang)
            for i, (variant, g) in enumerate(rows.groupby("variant", sort=False)):
                colour = PALETTE["cycle"][i % len(PALETTE["cycle"])]
                ax.fill_between(g["year"], g["difference_q05"] / scale, g["difference_q95"] / scale, color=colour, alpha=0.2, lw=0)
                ax.plot(g["year"], g["difference_median"] / scale, "o-", color=colour, lw=1.8,
                        label=names.get(variant, variant))
            ax.axhline(0, color=PALETTE["text"], lw=0.8)
            better = rows["better_if"].iloc[0]
            ax.set_title(text(f"diff_{quantity}", lang) + "\n" + text(f"better_{better}", lang), fontsize=9)
            ax.set_ylabel(text("diff_axis", lang, unit=unit), fontsize=8)
            ax.set_xticks(sorted(rows["year"].unique()))
            ax.tick_params(labelsize=7)
            tidy_ticks(ax)
            ax.grid(alpha=0.3)
        handles, labels = axes[0][0].get_legend_handles_labels()
        fig.suptitle(title, fontsize=10)
        fig.tight_layout(rect=(0, 0.08, 1, 1))
        fig.legend(handles, labels, loc="lower center", ncols=min(3, len(labels)), frameon=False, fontsize=8,
                   bbox_to_anchor=(0.5, 0.035))
        add_source(fig, source)
        fig.savefig(path, dpi=DPI)
    plt.close(fig)


def money_unit(largest: float, lang: Lang) -> tuple[float, str]:
    """Divisor and unit for yuan up to ``largest``: 万元/亿元 in Chinese, million/billion yuan in English."""
    if lang == "zh":
        return (1e4, "万元") if largest < 1e8 else (1e8, "亿元")
    return (1e6, "million yuan") if largest < 1e10 else (1e9, "billion yuan")
