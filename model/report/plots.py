"""Figures for reports: exits against the plan, with uncertainty bands (Chinese text in the CJK
font shipped with tuopin, see :mod:`tuopin.report.fonts`)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

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


def exits_figure(summary: pd.DataFrame, title: str, lang: Lang = "en") -> Figure:
    """Bars: the plan's exits per year; points and whiskers: simulated median and 5-95% band;
    under each year the chance of meeting that year's target."""
    years = summary["year"].to_numpy()
    scale, unit = people_unit(max(summary["target_exits"].max(), summary["exits_q95"].max()), lang)
    fig, ax = plt.subplots(figsize=(8, 4.8), dpi=120)
    ax.bar(years, summary["target_exits"] / scale, width=0.6, color="#c8d6e5", edgecolor="#576574",
           label=text("plan_target", lang))
    med = summary["exits_median"] / scale
    err = np.vstack([med - summary["exits_q05"] / scale, summary["exits_q95"] / scale - med])
    ax.errorbar(years, med, yerr=err, fmt="o-", color="#c0392b", capsize=5, lw=2,
                label=text("simulated_band", lang, n=int(summary["replicates"].iloc[0])))
    for x, p in zip(years, summary["p_meet_target"]):
        if not np.isnan(p):
            ax.annotate(text("p_meet", lang, p=p), (x, 0), xytext=(0, 4), textcoords="offset points",
                        ha="center", fontsize=8, color="#222f3e")
    ax.set_xticks(years)
    ax.set_xlabel(text("year", lang))
    ax.set_ylabel(with_unit(text("exits_axis", lang), unit, lang))
    ax.set_title(title, fontsize=11)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(frameon=False, fontsize=9)
    fig.tight_layout()
    return fig


def exits_vs_target(summary: pd.DataFrame, path: Path, title: str, lang: Lang = "en") -> None:
    """Write :func:`exits_figure` to ``path``."""
    with fonts.style(lang):
        fig = exits_figure(summary, title, lang)
        fig.savefig(path)
    plt.close(fig)


def differences(summary: pd.DataFrame, path: Path, title: str) -> None:
    """One panel per compared quantity: each variant's median difference from the base (line) with
    its 5-95% band (shaded), against a zero line; the panel says which direction is better."""
    quantities = list(dict.fromkeys(summary["quantity"]))
    fig, axes = plt.subplots(1, len(quantities), figsize=(3.4 * len(quantities), 3.6), dpi=110, squeeze=False)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, quantity in zip(axes[0], quantities):
        rows = summary[summary["quantity"] == quantity]
        scale, unit = (1e6, "million") if rows["base_median"].abs().max() >= 1e6 else (1e3, "thousand")
        if quantity == "cost_per_sustained_exit":
            scale, unit = 1.0, "yuan"
        for i, (variant, g) in enumerate(rows.groupby("variant", sort=False)):
            colour = colours[i % len(colours)]
            ax.fill_between(g["year"], g["difference_q05"] / scale, g["difference_q95"] / scale, color=colour, alpha=0.2)
            ax.plot(g["year"], g["difference_median"] / scale, "o-", color=colour, lw=1.8, label=variant)
        ax.axhline(0, color="#222f3e", lw=0.8)
        ax.set_title(f"{quantity.replace('_', ' ')}\n(variant - base, {rows['better_if'].iloc[0]} is better)", fontsize=9)
        ax.set_ylabel(unit if unit == "yuan" else f"{unit} {'yuan' if quantity == 'spending' else 'people'}", fontsize=8)
        ax.set_xticks(sorted(rows["year"].unique()))
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    axes[0][0].legend(frameon=False, fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
