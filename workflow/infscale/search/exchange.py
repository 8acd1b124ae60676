"""Exchanging pretraining for test-time compute (Snell et al. 2024, arXiv 2408.03314, §7).

Pretraining costs X = 6·N·D_pretrain FLOPs and inference Y = 2·N·D_inference. A model M× larger (pretrained on
the same data) costs as much, over its lifetime, as the smaller model spending

    M + 3(M − 1) / R

times its inference compute per query, with R = D_inference / D_pretrain. For M = 14 and
R = 0.16, 0.79, 22 this is about 258×, 63× and 16×. Per difficulty bin we compare the small model's
compute-optimal accuracy at that many generations (or at the largest budget it was run at, flagged) with the
larger model's pass@1 on the same questions.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..coverage import problem_table

RATIOS = (0.16, 0.79, 22.0)


def multiplier(m: float, r) -> np.ndarray | float:
    """Inference-compute multiplier that matches a model m× larger at inference/pretraining token ratio r."""
    if m < 1:
        raise ValueError(f"size multiplier M = {m} must be at least 1")
    r = np.asarray(r, dtype=np.float64)
    if (r <= 0).any():
        raise ValueError("R = D_inference / D_pretrain must be positive")
    out = m + 3.0 * (m - 1.0) / r
    return float(out) if out.ndim == 0 else out


def exchange_table(co: pd.DataFrame, difficulty: pd.DataFrame, m: float, ratios=RATIOS,
                   larger: pd.DataFrame | None = None, kind: str = "oracle") -> pd.DataFrame:
    """Per bin and R: the FLOPs-matched budget, the small model's compute-optimal accuracy at the largest budget
    ≤ it (`matched` says whether the budgets run reach the multiplier, i.e. nothing affordable is missing), and the larger model's pass@1 on the
    bin's questions when its repeated samples are given (`larger`: problem_id, correct)."""
    c = co[co["bin_kind"] == kind]
    large = None
    if larger is not None:
        p1 = problem_table(larger)[["problem_id", "pass1"]].rename(columns={"pass1": "pass1_large"})
        large = difficulty[["problem_id", f"{kind}_bin"]].merge(p1, on="problem_id", how="inner")
    rows = []
    for b in sorted(c["bin"].unique()):
        cb = c[c["bin"] == b].sort_values("budget")
        for r in ratios:
            x = multiplier(m, r)
            usable = cb[cb["budget"] <= x + 1e-9]
            row = {"bin_kind": kind, "bin": int(b), "R": float(r), "M": float(m), "multiplier": x,
                   "budget_used": int(usable["budget"].iloc[-1]) if len(usable) else math.nan,
                   "small_accuracy": float(usable["accuracy"].iloc[-1]) if len(usable) else math.nan,
                   # the budget grid reaches the multiplier, so budget_used is the largest affordable budget
                   "matched": bool(cb["budget"].max() >= x - 1e-9)}
            if large is not None:
                lb = large[large[f"{kind}_bin"] == b]
                row["large_accuracy"] = float(lb["pass1_large"].mean()) if len(lb) else math.nan
                row["delta"] = row["small_accuracy"] - row["large_accuracy"]
            rows.append(row)
    return pd.DataFrame(rows)


def plot(table: pd.DataFrame, path: str, title: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .. import io

    ratios = sorted(table["R"].unique())
    fig, axes = plt.subplots(1, len(ratios), figsize=(3.4 * len(ratios), 3), sharey=True, squeeze=False)
    for ax, r in zip(axes[0], ratios):
        t = table[table["R"] == r].sort_values("bin")
        x = np.arange(len(t))
        ax.bar(x - 0.2, t["small_accuracy"], 0.4, label="small, compute-optimal")
        if "large_accuracy" in t:
            ax.bar(x + 0.2, t["large_accuracy"], 0.4, label=f"{t['M'].iloc[0]:g}× larger, pass@1")
        ax.set_xticks(x, [str(b) for b in t["bin"]])
        mult = t["multiplier"].iloc[0]
        used = t["budget_used"].max()
        ax.set_title(f"R={r:g}: {mult:.0f}× budget (ran ≤{used:g})", fontsize=8)
        ax.set_xlabel("difficulty bin")
    axes[0][0].set_ylabel("accuracy")
    axes[0][-1].legend(fontsize=6)
    fig.suptitle(title, fontsize=9)
    io.write_png(fig, path)
