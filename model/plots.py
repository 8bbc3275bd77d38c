"""Figures for reports: exits against the plan, with uncertainty bands."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def exits_vs_target(summary: pd.DataFrame, path: Path, title: str) -> None:
    """Bars: the plan's exits per year; points and whiskers: simulated median and 5-95% band."""
    years = summary["year"].to_numpy()
    fig, ax = plt.subplots(figsize=(8, 4.8), dpi=120)
    ax.bar(years, summary["target_exits"] / 1e3, width=0.6, color="#c8d6e5", edgecolor="#576574",
           label="Plan target")
    med = summary["exits_median"] / 1e3
    err = np.vstack([med - summary["exits_q05"] / 1e3, summary["exits_q95"] / 1e3 - med])
    ax.errorbar(years, med, yerr=err, fmt="o-", color="#c0392b", capsize=5, lw=2,
                label=f"Simulated median, 5-95% band ({int(summary['replicates'].iloc[0])} replicates)")
    for x, p in zip(years, summary["p_meet_target"]):
        if not np.isnan(p):
            ax.annotate(f"P(meet)={p:.0%}", (x, 0), xytext=(0, 4), textcoords="offset points",
                        ha="center", fontsize=8, color="#222f3e")
    ax.set_xticks(years)
    ax.set_xlabel("Year")
    ax.set_ylabel("People exiting poverty (thousands)")
    ax.set_title(title, fontsize=11)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(frameon=False, fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
