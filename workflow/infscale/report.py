"""Figures and tables for the Snakemake report, in the style of the Monkeys paper (Brown et al. 2024).

- coverage against k on a log-x axis with the bootstrap band and the fitted law exp(a·k^b) (Figs. 2 and 5);
- coverage against total inference FLOPs, one panel per model family (Figs. 3 and 4);
- cost-matched bars: coverage each priced model reaches within the same dollar budget (Table 1's question);
- selection methods (majority vote, reward best-of-N / weighted vote) against oracle coverage (Fig. 7), and the
  generation–verification gap per k (Weaver, arXiv 2506.18203);
- the compute-optimal allocation frontier against every single model;
- tables as CSV. A figure whose inputs are absent (no prices, no model config) says so instead of vanishing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import io
from .fit import law


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    sns.set_theme(style="whitegrid", context="paper")
    return plt, sns


def _empty(path, title: str, why: str) -> None:
    plt, _ = _plt()
    fig, ax = plt.subplots(figsize=(5, 2))
    ax.axis("off")
    ax.set_title(title)
    ax.text(0.5, 0.4, why, ha="center", va="center", wrap=True)
    io.write_png(fig, path)


def _read(paths: dict) -> pd.DataFrame:
    frames = [pd.read_csv(p).assign(model=m) for m, p in paths.items()]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def fig_coverage(curves: pd.DataFrame, fits: pd.DataFrame, path, title: str) -> None:
    plt, sns = _plt()
    fig, ax = plt.subplots(figsize=(6, 4))
    palette = dict(zip(sorted(curves["model"].unique()), sns.color_palette(n_colors=curves["model"].nunique())))
    for m, g in curves.groupby("model"):
        ax.plot(g["k"], g["coverage"], color=palette[m], label=m)
        if {"ci_low", "ci_high"} <= set(g.columns):
            ax.fill_between(g["k"], g["ci_low"], g["ci_high"], color=palette[m], alpha=0.2, linewidth=0)
        f = fits[(fits["model"] == m) & (fits["method"] == "curve_fit")] if len(fits) else fits
        if len(f) and np.isfinite(f["a"].iloc[0]):
            a, b = f["a"].iloc[0], f["b"].iloc[0]
            ks = np.unique(np.geomspace(1, g["k"].max(), 100))
            ax.plot(ks, law(ks, a, b), color=palette[m], linestyle="--", linewidth=1,
                    label=f"{m} fit: a={a:.2f}, b={b:.2f}")
    ax.set_xscale("log")
    ax.set_ylim(0, 1)
    ax.set_xlabel("number of samples k")
    ax.set_ylabel("coverage (pass@k)")
    ax.set_title(title)
    ax.legend(fontsize=7)
    io.write_png(fig, path)


def fig_flops(curves: pd.DataFrame, families: dict, path, title: str) -> None:
    if curves.empty:
        return _empty(path, title, "no FLOPs: no model config known (analysis.models.<m>.config_json)")
    plt, sns = _plt()
    curves = curves.assign(family=curves["model"].map(lambda m: families.get(m) or m))
    fams = sorted(curves["family"].unique())
    fig, axes = plt.subplots(1, len(fams), figsize=(4.5 * len(fams), 3.6), squeeze=False)
    for ax, fam in zip(axes[0], fams):
        sns.lineplot(data=curves[curves["family"] == fam], x="flops_v3", y="coverage", hue="model", ax=ax)
        ax.set_xscale("log")
        ax.set_ylim(0, 1)
        ax.set_xlabel("total inference FLOPs (Monkeys v3)")
        ax.set_title(f"{title} — {fam}")
    io.write_png(fig, path)


def cost_matched(costs: pd.DataFrame) -> pd.DataFrame:
    """For the budget every priced model can afford at its largest k, the coverage each reaches within it."""
    if costs.empty:
        return pd.DataFrame(columns=["model", "budget_dollars", "k", "coverage", "dollars"])
    budget = costs.groupby("model")["dollars"].max().min()
    rows = []
    for m, g in costs.groupby("model"):
        g = g[g["dollars"] <= budget * (1 + 1e-12)]
        r = g.loc[g["coverage"].idxmax()] if len(g) else None
        rows.append({"model": m, "budget_dollars": budget, "k": int(r["k"]) if r is not None else 0,
                     "coverage": float(r["coverage"]) if r is not None else np.nan,
                     "dollars": float(r["dollars"]) if r is not None else np.nan})
    return pd.DataFrame(rows)


def fig_cost(table: pd.DataFrame, path, title: str) -> None:
    if table.empty:
        return _empty(path, title, "no dollar costs: no model has models.<m>.price in config")
    plt, sns = _plt()
    fig, ax = plt.subplots(figsize=(6, 3.6))
    sns.barplot(data=table, x="model", y="coverage", ax=ax)
    for i, r in enumerate(table.itertuples()):
        ax.text(i, (r.coverage if np.isfinite(r.coverage) else 0) + 0.02, f"k={r.k}\n${r.dollars:.3g}",
                ha="center", fontsize=7)
    ax.set_ylim(0, 1.15)
    ax.set_ylabel("coverage")
    ax.set_title(f"{title} — same budget ${table['budget_dollars'].iloc[0]:.3g}")
    io.write_png(fig, path)


def fig_selection(sel: pd.DataFrame, path, title: str) -> None:
    if sel.empty:
        return _empty(path, title, "no selection results (math datasets only)")
    plt, sns = _plt()
    models = sorted(sel["model"].unique())
    fig, axes = plt.subplots(1, len(models), figsize=(4.5 * len(models), 3.6), squeeze=False)
    for ax, m in zip(axes[0], models):
        g = sel[sel["model"] == m]
        verifier = g["verifier"].fillna("") if "verifier" in g else pd.Series("", index=g.index)
        for (meth, ver), h in g.groupby([g["method"], verifier]):
            h = h.sort_values("k")
            ax.plot(h["k"], h["mean"], marker="o", markersize=3, label=f"{meth} ({ver})" if ver else meth,
                    linestyle="--" if meth == "oracle" else "-")
            lo, hi = (h["lo"], h["hi"]) if "lo" in h else (h["mean"] - h["std"], h["mean"] + h["std"])
            ax.fill_between(h["k"], lo, hi, alpha=0.15)  # 95% of trials (random subsets of size k)
        ax.set_xscale("log")
        ax.set_ylim(0, 1)
        ax.set_xlabel("number of samples k")
        ax.set_ylabel("success rate")
        ax.set_title(f"{title} — {m}")
        ax.legend(fontsize=7)
    io.write_png(fig, path)


def fig_gap(gap: pd.DataFrame, path, title: str) -> None:
    """Generation–verification gap (Weaver, arXiv 2506.18203): coverage and each selector's accuracy at each k
    (selection.gap_table), one panel per model; the shaded area is the gap to the best selector."""
    if gap.empty:
        return _empty(path, title, "no selection results (math datasets only)")
    plt, sns = _plt()
    models = sorted(gap["model"].unique())
    fig, axes = plt.subplots(1, len(models), figsize=(6.5 * len(models), 3.8), squeeze=False)
    skip = {"k", "model", "coverage", "gap", "best_selector"}
    for ax, m in zip(axes[0], models):
        g = gap[gap["model"] == m].sort_values("k")
        ax.plot(g["k"], g["coverage"], "k--", marker="o", markersize=3, label="coverage (oracle)")
        sel = [c for c in g.columns if c not in skip and g[c].notna().any()]
        colors = sns.color_palette("husl", n_colors=max(len(sel), 1))
        for c, color in zip(sel, colors):
            ax.plot(g["k"], g[c], marker="o", markersize=3, label=c, color=color,
                    linestyle=":" if c.startswith("best_of_n") else "-")
        if sel:
            ax.fill_between(g["k"], g[sel].max(axis=1), g["coverage"], color="grey", alpha=0.2, label="gap")
        ax.set_xscale("log")
        ax.set_ylim(0, 1)
        ax.set_xlabel("number of samples k")
        ax.set_ylabel("success rate")
        ax.set_title(f"{title} — {m}")
        ax.legend(fontsize=6, loc="center left", bbox_to_anchor=(1.0, 0.5))
    io.write_png(fig, path)


def fig_allocate(frontier: pd.DataFrame, path, title: str) -> None:
    if frontier.empty:
        return _empty(path, title, "no allocation (needs per-sample FLOPs or prices for at least one model)")
    plt, sns = _plt()
    fig, ax = plt.subplots(figsize=(6, 3.8))
    sns.lineplot(data=frontier, x="budget", y="coverage", hue="strategy", style="strategy", markers=True, ax=ax)
    ax.set_xscale("log")
    ax.set_ylim(0, 1)
    ax.set_xlabel(f"budget ({frontier['cost_column'].iloc[0] if 'cost_column' in frontier else 'cost'})")
    ax.set_ylabel("expected coverage")
    ax.set_title(title)
    io.write_png(fig, path)


def run_report(input, output, params) -> None:
    """Build one dataset's figures and tables from the analysis CSVs (see workflow/rules/report.smk)."""
    ds = params.dataset
    cov = _read(dict(zip(params.models, input.coverage)))
    fits = _read(dict(zip(params.models, input.fits)))
    fl = _read(dict(zip(params.flops_models, input.flops)))
    co = _read(dict(zip(params.cost_models, input.costs)))
    sel = _read(dict(zip(params.selection_models, input.selection)))
    alloc = pd.read_csv(input.allocate[0]) if len(input.allocate) else pd.DataFrame()
    fig_coverage(cov, fits, output.coverage_png, f"coverage on {ds}")
    fig_flops(fl, dict(params.families), output.flops_png, f"coverage vs FLOPs on {ds}")
    cm = cost_matched(co)
    fig_cost(cm, output.cost_png, f"cost-matched coverage on {ds}")
    fig_selection(sel, output.selection_png, f"selection on {ds}")
    fig_gap(_read(dict(zip(params.selection_models, input.selection_gap))), output.gap_png,
            f"generation-verification gap on {ds}")
    fig_allocate(alloc, output.allocate_png, f"compute-optimal allocation on {ds}")
    keep = cov[cov["k"].isin(np.unique(np.r_[2 ** np.arange(0, 15), cov["k"].max()]))] if len(cov) else cov
    io.write_csv(keep, output.coverage_table)
    io.write_csv(fits, output.fit_table)
    io.write_csv(cm, output.cost_table)
