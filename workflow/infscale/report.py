"""Figures and tables for the Snakemake report, in the style of the Monkeys paper (Brown et al. 2024).

- coverage against k on a log-x axis with the bootstrap band and the fitted law exp(a·k^b) (Figs. 2 and 5);
- coverage against total inference FLOPs, one panel per model family (Figs. 3 and 4);
- cost-matched bars: coverage each priced model reaches within the same dollar budget (Table 1's question);
- selection methods (majority vote, reward best-of-N / weighted vote) against oracle coverage (Fig. 7), and the
  generation–verification gap per k (Weaver, arXiv 2506.18203);
- the compute-optimal allocation frontier against every single model;
- the FLOPs- and dollar-matched comparison of one family on one task, with the winner at each budget (Fig. 4);
- pass^k beside pass@k, and coverage@cost (coverage against attempts, uniform vs Reset-and-Discard);
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


def model_colours(models, universe=None) -> dict:
    """One colour per model, the same in every figure: a model's colour is its place among all the models of the
    config (`universe`, layout.palette_models, in name order), not among the models one figure happens to show, so
    the report pages of every dataset and the family figures agree. Seaborn's "deep" palette, or evenly spaced
    hues beyond 10 models."""
    import seaborn as sns

    order = sorted(set(universe if universe is not None else models) | set(models))
    palette = sns.color_palette("deep" if len(order) <= 10 else "husl", n_colors=len(order))
    return {m: palette[order.index(m)] for m in models}


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


def _best_forecast(fits: pd.DataFrame, forecasts: pd.DataFrame, model: str) -> pd.DataFrame:
    """The model's lowest-AIC distributional forecast beyond its data (infscale.forecast), or an empty frame."""
    if forecasts is None or forecasts.empty or "aic" not in fits:
        return pd.DataFrame()
    f = fits[(fits["model"] == model) & fits["aic"].notna()]
    if f.empty:
        return pd.DataFrame()
    method = f.loc[f["aic"].idxmin(), "method"]
    g = forecasts[(forecasts["model"] == model) & (forecasts["method"] == method)]
    return g.assign(method=method)


def fig_coverage(curves: pd.DataFrame, fits: pd.DataFrame, path, title: str,
                 forecasts: pd.DataFrame | None = None, models=None) -> None:
    """Coverage per model with its CI band, the exp(a·k^b) fit, and the best distributional forecast dashed
    beyond the data; a model whose fit rests on fewer than 3 solved problems says so in its legend entry."""
    plt, sns = _plt()
    fig, ax = plt.subplots(figsize=(6, 4))
    palette = model_colours(curves["model"].unique(), models)
    for m, g in curves.groupby("model"):
        ax.plot(g["k"], g["coverage"], color=palette[m], label=m)
        if {"ci_low", "ci_high"} <= set(g.columns):
            ax.fill_between(g["k"], g["ci_low"], g["ci_high"], color=palette[m], alpha=0.2, linewidth=0)
        f = fits[(fits["model"] == m) & (fits["method"] == "curve_fit")] if len(fits) else fits
        if len(f) and np.isfinite(f["a"].iloc[0]):
            a, b = f["a"].iloc[0], f["b"].iloc[0]
            ks = np.unique(np.geomspace(1, g["k"].max(), 100))
            note = f["note"].iloc[0] if "note" in f and isinstance(f["note"].iloc[0], str) else ""
            ax.plot(ks, law(ks, a, b), color=palette[m], linestyle="--", linewidth=1,
                    label=f"{m} fit: a={a:.2f}, b={b:.2f}" + (f"\n  ({note})" if note else ""))
        fc = _best_forecast(fits, forecasts, m)
        if len(fc):
            beyond = fc[fc["k"] >= g["k"].max()]
            ax.plot(beyond["k"], beyond["coverage"], color=palette[m], linestyle=":", linewidth=1.5,
                    label=f"{m} forecast ({fc['method'].iloc[0]})")
            if beyond["ci_low"].notna().any():
                ax.fill_between(beyond["k"], beyond["ci_low"], beyond["ci_high"], color=palette[m], alpha=0.08,
                                linewidth=0)
    ax.set_xscale("log")
    ax.set_ylim(0, 1)
    ax.set_xlabel("number of samples k")
    ax.set_ylabel("coverage (pass@k)")
    ax.set_title(title)
    ax.legend(fontsize=7)
    io.write_png(fig, path)


def fig_measures(curves: pd.DataFrame, path, title: str, models=None) -> None:
    """pass^k (all k samples correct) against k, and coverage@cost: coverage against attempts per problem for
    uniform sampling (k each) and for Reset-and-Discard (stop a problem at its first success; Meir et al. 2026)."""
    if curves.empty or not {"pass_hat_k", "attempts_discard"} <= set(curves.columns):
        return _empty(path, title, "no pass^k / attempts columns in the coverage tables")
    plt, sns = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    palette = model_colours(curves["model"].unique(), models)
    for m, g in curves.groupby("model"):
        g = g.dropna(subset=["pass_hat_k"])
        axes[0].plot(g["k"], g["coverage"], color=palette[m], label=f"{m} pass@k (coverage)")
        axes[0].plot(g["k"], g["pass_hat_k"], color=palette[m], linestyle="--", label=f"{m} pass^k")
        axes[1].plot(g["k"], g["coverage"], color=palette[m], label=f"{m} uniform")
        axes[1].plot(g["attempts_discard"], g["coverage"], color=palette[m], linestyle="--",
                     label=f"{m} reset-and-discard")
    for ax in axes:
        ax.set_xscale("log")
        ax.set_ylim(0, 1)
        ax.legend(fontsize=7)
    axes[0].set_xlabel("number of samples k")
    axes[0].set_ylabel("share of problems")
    axes[0].set_title(f"{title}: pass@k and pass^k", fontsize=9)
    axes[1].set_xlabel("attempts per problem (total attempts / problems)")
    axes[1].set_ylabel("coverage (unique problems solved)")
    axes[1].set_title(f"{title}: coverage@cost", fontsize=9)
    io.write_png(fig, path)


def _footnote(fig, notes: list[str]) -> None:
    if notes:
        fig.supxlabel("\n".join(notes), fontsize=6)


def fig_flops(curves: pd.DataFrame, families: dict, path, title: str, notes: list[str] = (),
              models=None) -> None:
    if curves.empty:
        return _empty(path, title, "\n".join(notes) or "no FLOPs: no model shape known (models.<m>.shape)")
    plt, sns = _plt()
    curves = curves.assign(family=curves["model"].map(lambda m: families.get(m) or m))
    fams = sorted(curves["family"].unique())
    fig, axes = plt.subplots(1, len(fams), figsize=(4.5 * len(fams), 3.6), squeeze=False)
    for ax, fam in zip(axes[0], fams):
        sns.lineplot(data=curves[curves["family"] == fam], x="flops_v3", y="coverage", hue="model",
                     palette=model_colours(curves["model"].unique(), models), ax=ax)
        ax.set_xscale("log")
        ax.set_ylim(0, 1)
        ax.set_xlabel("total inference FLOPs (Monkeys v3)")
        ax.set_title(f"{title} — {fam}")
    _footnote(fig, notes)
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


def fig_cost(table: pd.DataFrame, path, title: str, notes: list[str] = (), models=None) -> None:
    if table.empty:
        return _empty(path, title, "\n".join(notes) or "no dollar costs: no model has models.<m>.price in config")
    plt, sns = _plt()
    fig, ax = plt.subplots(figsize=(6, 3.6))
    sns.barplot(data=table, x="model", y="coverage", hue="model", palette=model_colours(table["model"], models),
                legend=False, ax=ax)
    for i, r in enumerate(table.itertuples()):
        ax.text(i, (r.coverage if np.isfinite(r.coverage) else 0) + 0.02, f"k={r.k}\n${r.dollars:.3g}",
                ha="center", fontsize=7)
    ax.set_ylim(0, 1.15)
    ax.set_ylabel("coverage")
    ax.set_title(f"{title} — same budget ${table['budget_dollars'].iloc[0]:.3g}")
    _footnote(fig, notes)
    io.write_png(fig, path)


def fig_matched(table: pd.DataFrame, path, title: str, models=None) -> None:
    """One panel per unit (FLOPs, dollars): each model's coverage at each budget, the winner marked above."""
    if table.empty:
        return _empty(path, title, "no FLOPs or prices for this family (models.<m>.shape / models.<m>.price)")
    plt, sns = _plt()
    units = [u for u in ("flops", "dollars") if (table["unit"] == u).any()]
    palette = model_colours(table["model"].unique(), models)
    fig, axes = plt.subplots(1, len(units), figsize=(5 * len(units), 3.8), squeeze=False)
    for ax, unit in zip(axes[0], units):
        t = table[table["unit"] == unit]
        for m, g in t.groupby("model"):
            ax.plot(g["budget"], g["coverage"], marker="o", markersize=2.5, color=palette[m], label=m)
        w = t.drop_duplicates("budget")
        for b, win in zip(w["budget"], w["winner"]):
            if isinstance(win, str):
                for j, m in enumerate(win.split("|")):
                    ax.scatter([b], [1.03 + 0.03 * j], marker="s", s=12, color=palette[m], clip_on=False)
        ax.set_xscale("log")
        ax.set_ylim(0, 1)
        ax.set_xlabel("total inference FLOPs (Monkeys v3)" if unit == "flops" else "total cost (dollars)")
        ax.set_ylabel("coverage at the budget")
        ax.set_title(f"{title} — {unit}", pad=14)
        ax.legend(fontsize=7, loc="lower right")
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


def write_report(dataset: str, palette: list, coverage: dict, fits: dict, forecasts: dict, flops: dict, costs: dict,
                 selection: dict, selection_gap: dict, allocate: str | None, families: dict, notes: list,
                 out: dict) -> None:
    """The report_dataset rule: one dataset's figures and tables from the analysis CSVs (workflow/rules/report.smk).

    coverage … selection_gap: model → that stage's CSV; allocate: the dataset's allocation table or None;
    palette: every model of the config (each figure colours a model by its place among these, so a model has one
    colour across datasets, layout.palette_models); notes: one line per
    model left out of the FLOPs and cost figures (release.tokens_reason); out: the rule's named outputs."""
    ds = dataset
    cov, fits, forecasts = _read(coverage), _read(fits), _read(forecasts)
    fl, co, sel = _read(flops), _read(costs), _read(selection)
    alloc = pd.read_csv(allocate) if allocate else pd.DataFrame()
    models, notes = list(palette), list(notes or [])
    fig_coverage(cov, fits, out["coverage_png"], f"coverage on {ds}", forecasts, models)
    fig_flops(fl, dict(families), out["flops_png"], f"coverage vs FLOPs on {ds}", notes, models)
    fig_measures(cov, out["measures_png"], ds, models)
    cm = cost_matched(co)
    fig_cost(cm, out["cost_png"], f"cost-matched coverage on {ds}", notes, models)
    fig_selection(sel, out["selection_png"], f"selection on {ds}")
    fig_gap(_read(selection_gap), out["gap_png"], f"generation-verification gap on {ds}")
    fig_allocate(alloc, out["allocate_png"], f"compute-optimal allocation on {ds}")
    keep = cov[cov["k"].isin(np.unique(np.r_[2 ** np.arange(0, 15), cov["k"].max()]))] if len(cov) else cov
    io.write_csv(keep, out["coverage_table"])
    io.write_csv(fits, out["fit_table"])
    io.write_csv(cm, out["cost_table"])
