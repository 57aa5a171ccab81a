"""Deterministic SVG figures for the recipes' evaluations (read_assist_eval.plots, diabetes-pima's
train.py): the same matplotlib settings, ROC axes and save step, so a re-run rewrites every
figure byte for byte. matplotlib (python3-matplotlib) is imported only when a figure is drawn.
"""
from __future__ import annotations

from pathlib import Path


def pyplot():
    """matplotlib.pyplot on the SVG backend, with fixed ids (svg.hashsalt) and text kept as text."""
    import matplotlib

    matplotlib.use("svg")
    import matplotlib.pyplot as plt

    plt.rcParams["svg.hashsalt"] = "lantern"  # deterministic SVG ids
    plt.rcParams["svg.fonttype"] = "none"
    return plt


def save(fig, path: Path) -> None:
    """Tight layout, written without a date (so the bytes depend only on the figure), then closed."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, metadata={"Date": None})
    plt.close(fig)


def finish_roc(fig, ax, title: str, path: Path) -> None:
    """ROC axes (1 - specificity, sensitivity; square; legend lower right), saved to path. Curves,
    chance line and operating points are drawn by the caller, in its own order."""
    ax.set_xlabel("1 - specificity")
    ax.set_ylabel("sensitivity")
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize=8)
    ax.set_aspect("equal")
    save(fig, path)
