"""Question difficulty and the compute-optimal strategy (Snell et al. 2024, arXiv 2408.03314, §3.2, §5.3, §6.3).

- Oracle difficulty: 5 quantile bins of each question's pass@1, estimated from many repeated samples (2048 in the
  paper); bin 1 is the easiest (highest pass@1), bin 5 the hardest. Allocation uses the same bins
  (coverage.quantile_bins on coverage.problem_table's pass@1).
- Predicted difficulty: the same binning of each question's mean PRM score over the same samples (no answer
  checking needed).
- Compute-optimal strategy: within each bin and at each generation budget, the strategy with the best accuracy
  chosen on one fold of the bin's questions and evaluated on the other (2-fold cross-validation).
- The budget compute-optimal needs to match best-of-N: for each best-of-N budget b, the smallest budget x at
  which compute-optimal accuracy reaches best-of-N's accuracy at b; the ratio is b / x (the paper: about 4×).
A strategy's budget is its cost in generations (lookahead-k costs N(k+1)); at budget x a strategy contributes
its result at the largest budget ≤ x it was run at.
"""

from __future__ import annotations

import math

import pandas as pd

from ..contracts import require_columns
from ..coverage import problem_table, quantile_bins


def difficulty_table(merged: pd.DataFrame, prm: pd.DataFrame | None, n_bins: int = 5) -> pd.DataFrame:
    """One row per question: pass@1 and the oracle bin from the repeated samples; the mean PRM score and the
    predicted bin from the PRM scores of the same samples (when given)."""
    require_columns(merged, ["problem_id", "sample_index", "correct"], "merged samples")
    pp = problem_table(merged)
    out = pd.DataFrame({"n_samples": pp["n"].to_numpy(), "pass1": pp["pass1"].to_numpy()},
                       index=pd.Index(pp["problem_id"], name="problem_id"))
    out["oracle_bin"] = quantile_bins(out["pass1"], n_bins)
    if prm is not None:
        require_columns(prm, ["problem_id", "sample_index", "reward"], "PRM scores")
        mean = prm.groupby("problem_id")["reward"].mean()
        out["mean_prm"] = mean.reindex(out.index)
        missing = out["mean_prm"].isna()
        if missing.any():
            raise ValueError(f"no PRM score for question(s) {', '.join(map(str, out.index[missing][:5]))}")
        out["predicted_bin"] = quantile_bins(out["mean_prm"], n_bins)
    return out.reset_index()


def _at_budget(results: pd.DataFrame, grid: list) -> pd.DataFrame:
    """Per (strategy, grid budget x, problem): correct of the strategy's run at the largest budget ≤ x."""
    parts = []
    for strategy, df in results.groupby("strategy"):
        budgets = sorted(df["generations"].unique())
        for x in grid:
            usable = [b for b in budgets if b <= x]
            if not usable:
                continue
            rows = df[df["generations"] == usable[-1]][["problem_id", "correct"]]
            parts.append(rows.assign(strategy=strategy, budget=x, run_budget=usable[-1]))
    return pd.concat(parts, ignore_index=True)


def accuracy_table(results: pd.DataFrame, difficulty: pd.DataFrame, kinds=("oracle", "predicted")) -> pd.DataFrame:
    """Accuracy of each strategy at each budget within each bin (and `all`)."""
    require_columns(results, ["problem_id", "strategy", "generations", "correct"], "search results")
    grid = sorted(results["generations"].unique())
    at = _at_budget(results, grid)
    rows = []
    for kind in kinds:
        col = f"{kind}_bin"
        if col not in difficulty:
            continue
        d = at.merge(difficulty[["problem_id", col]], on="problem_id", how="inner")
        for (b, s, x), g in d.groupby([col, "strategy", "budget"]):
            rows.append({"bin_kind": kind, "bin": int(b), "strategy": s, "budget": int(x),
                         "accuracy": float(g["correct"].mean()), "n_problems": int(len(g))})
    for (s, x), g in at.groupby(["strategy", "budget"]):
        rows.append({"bin_kind": "all", "bin": 0, "strategy": s, "budget": int(x),
                     "accuracy": float(g["correct"].mean()), "n_problems": int(len(g))})
    return pd.DataFrame(rows)


def _folds(problem_ids, folds: int) -> dict:
    return {p: i % folds for i, p in enumerate(sorted(problem_ids))}


def compute_optimal(results: pd.DataFrame, difficulty: pd.DataFrame, kind: str = "oracle", folds: int = 2,
                    strategies=None) -> pd.DataFrame:
    """Per bin and budget: the strategy picked on the other fold(s) and its accuracy on the held-out fold,
    averaged over questions. A bin with fewer questions than folds is chosen in-sample (`cross_validated` False)."""
    require_columns(results, ["problem_id", "strategy", "generations", "correct"], "search results")
    if strategies is not None:
        results = results[results["strategy"].isin(strategies)]
    grid = sorted(results["generations"].unique())
    at = _at_budget(results, grid)
    col = f"{kind}_bin"
    at = at.merge(difficulty[["problem_id", col]], on="problem_id", how="inner")
    rows = []
    for (b, x), g in at.groupby([col, "budget"]):
        pids = g["problem_id"].unique()
        fold_of = _folds(pids, folds)
        cv = len(pids) >= folds
        correct_sum, n, chosen = 0.0, 0, []
        for f in range(folds if cv else 1):
            test = [p for p in pids if fold_of[p] == f] if cv else list(pids)
            train = [p for p in pids if fold_of[p] != f] if cv else list(pids)
            acc = g[g["problem_id"].isin(train)].groupby("strategy")["correct"].mean()
            best = sorted(acc.index, key=lambda s: (-acc[s], s))[0]
            chosen.append(best)
            t = g[(g["strategy"] == best) & g["problem_id"].isin(test)]
            correct_sum += float(t["correct"].sum())
            n += len(t)
        rows.append({"bin_kind": kind, "bin": int(b), "budget": int(x), "accuracy": correct_sum / max(n, 1),
                     "n_problems": int(len(pids)), "chosen": ",".join(chosen), "cross_validated": cv})
    return pd.DataFrame(rows)


def overall(co: pd.DataFrame) -> pd.DataFrame:
    """Question-weighted accuracy over bins at each budget."""
    return (co.assign(w=co["accuracy"] * co["n_problems"]).groupby("budget")[["w", "n_problems"]].sum()
            .assign(accuracy=lambda d: d["w"] / d["n_problems"]).reset_index()[["budget", "accuracy"]])


def matching_ratio(baseline: pd.DataFrame, optimal: pd.DataFrame) -> pd.DataFrame:
    """For each baseline budget b: the smallest budget x where `optimal` accuracy ≥ the baseline's at b, and b / x.
    Both tables have columns budget, accuracy; x is NaN (ratio NaN) when optimal never reaches it."""
    rows = []
    opt = optimal.sort_values("budget")
    for r in baseline.sort_values("budget").itertuples():
        ok = opt[opt["accuracy"] >= r.accuracy - 1e-12]
        x = float(ok["budget"].iloc[0]) if len(ok) else math.nan
        rows.append({"baseline_budget": int(r.budget), "baseline_accuracy": float(r.accuracy),
                     "optimal_budget": x, "ratio": float(r.budget) / x if x == x else math.nan})
    return pd.DataFrame(rows)


def analyse(results: pd.DataFrame, difficulty: pd.DataFrame, baseline: str, folds: int = 2) -> dict:
    """Everything the difficulty rule writes: accuracy per bin, compute-optimal per bin (oracle, predicted) and
    the budget ratio against `baseline` (a strategy name, e.g. best_of_n_weighted)."""
    if baseline not in set(results["strategy"]):
        raise ValueError(f"baseline strategy {baseline!r} is not among the results ({', '.join(sorted(set(results['strategy'])))})")
    acc = accuracy_table(results, difficulty)
    cos, ratios, summary = [], [], {}
    base = acc[(acc["bin_kind"] == "all") & (acc["strategy"] == baseline)][["budget", "accuracy"]]
    for kind in ("oracle", "predicted"):
        if f"{kind}_bin" not in difficulty:
            continue
        co = compute_optimal(results, difficulty, kind, folds)
        cos.append(co)
        m = matching_ratio(base, overall(co)).assign(bin_kind=kind)
        ratios.append(m)
        finite = m["ratio"].dropna()
        summary[kind] = {"max_ratio": float(finite.max()) if len(finite) else None,
                         "median_ratio": float(finite.median()) if len(finite) else None,
                         "matched_budgets": int(len(finite)), "baseline_budgets": int(len(m))}
    return {"accuracy": acc, "compute_optimal": pd.concat(cos, ignore_index=True),
            "ratio": pd.concat(ratios, ignore_index=True), "summary": {"baseline": baseline, **summary}}


def plot(acc: pd.DataFrame, co: pd.DataFrame, path: str, title: str, kind: str = "oracle") -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    from .. import io

    a = acc[acc["bin_kind"] == kind]
    c = co[co["bin_kind"] == kind].assign(strategy="compute-optimal")
    data = pd.concat([a, c], ignore_index=True)
    bins = sorted(data["bin"].unique())
    fig, axes = plt.subplots(1, max(len(bins), 1), figsize=(3.2 * max(len(bins), 1), 3), sharey=True, squeeze=False)
    for ax, b in zip(axes[0], bins):
        sns.lineplot(data=data[data["bin"] == b], x="budget", y="accuracy", hue="strategy", marker="o", ax=ax,
                     legend=b == bins[-1])
        ax.set_xscale("log", base=2)
        ax.set_title(f"{kind} bin {b}")
        ax.set_xlabel("generation budget")
    if bins:
        axes[0][-1].legend(fontsize=6, loc="best")
    fig.suptitle(title, fontsize=9)
    io.write_png(fig, path)
