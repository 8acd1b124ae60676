"""Compute-matched comparison of the models of one family on one task (Brown et al. 2024, *Large Language Monkeys*,
arXiv 2407.21787, §3 and Fig. 4: coverage against total inference FLOPs for each model of a family; whether the
smaller model sampled more often beats the larger one at the same FLOPs; and the same against dollars, §3 / Table 1).

Each model's cost is a line in k, the samples drawn per problem: FLOPs(k) = Σ_p prefill_p + k·Σ_p decode_p
(Monkeys v3 FLOPs, infscale.flops.flops_line) and dollars(k) = k·Σ_p price per attempt_p (infscale.cost.dollar_line).
On a grid of budgets B (log-spaced from the cheapest single sample of any model to the most expensive full run), a
model buys k(B) = ⌊(B − fixed)/per_k⌋ samples per problem and reaches coverage(k(B)), computed exactly from its
per-problem counts (n, c) with the unbiased pass@k estimator (infscale.coverage). A model that cannot afford one
sample, or whose budget would buy more samples than it has, has no coverage at that budget (NaN): its curve ends
where its samples end, as in the paper's figures. Free samples (no decode FLOPs, a zero price) buy every sample
once the fixed part is paid. The winner is the model with the highest coverage among those
with a value; tied models are joined with "|".

All budgets of a model are answered by one coverage sweep over the distinct k(B) (linear in samples per problem),
see bench/bench_matched.py for the loop it replaces.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .coverage import coverage_from_counts

UNITS = ("flops", "dollars")
COLUMNS = ["unit", "budget", "model", "coverage", "winner", "models_at_budget", "k"]
DEFAULT_POINTS = 40
TIE_TOL = 1e-12


def affordable_k(budgets, fixed: float, per_k: float, kmax: int) -> np.ndarray:
    """Samples per problem each budget buys: ⌊(B − fixed)/per_k⌋, 0 when that is < 1 or > kmax (no value)."""
    b = np.asarray(budgets, dtype=np.float64)
    if per_k < 0 or fixed < 0:
        raise ValueError(f"matched: costs must not be negative, got fixed {fixed} and {per_k} per sample")
    if per_k == 0:  # free samples (empty completions, a zero price): a budget that covers the fixed part buys all
        return np.where(b >= fixed * (1.0 - 1e-12), int(kmax), 0).astype(np.int64)
    k = np.floor((b - fixed) / per_k * (1.0 + 1e-12)).astype(np.int64)  # a budget equal to a cost buys it
    k[(k < 1) | (k > kmax)] = 0
    return k


def coverage_at(n, c, ks) -> np.ndarray:
    """Coverage at each k of `ks` (NaN where k is 0), one sweep over the distinct positive k."""
    ks = np.asarray(ks, dtype=np.int64)
    out = np.full(len(ks), np.nan)
    pos = ks > 0
    if pos.any():
        uniq, inv = np.unique(ks[pos], return_inverse=True)
        out[pos] = coverage_from_counts(n, c, uniq)[np.asarray(inv).reshape(-1)]
    return out


def budget_grid(lines: dict, kmax: dict, num: int = DEFAULT_POINTS) -> np.ndarray:
    """`num` log-spaced budgets from the cheapest k = 1 to the dearest k = kmax over the models of one unit."""
    hi = max(f + kmax[m] * p for m, (f, p) in lines.items())
    positive = [f + p for f, p in lines.values() if f + p > 0]
    lo = min(positive) if positive else hi
    return np.array([max(lo, 0.0)]) if hi <= lo else np.geomspace(lo, hi, num)


def _winners(cov: np.ndarray, models: list[str]) -> tuple[list, np.ndarray]:
    """Per row of cov (budgets × models): the best model ("a|b" on ties, None if none) and how many have a value."""
    have = np.isfinite(cov)
    best = np.where(have, cov, -np.inf).max(axis=1)
    top = have & (cov >= best[:, None] - TIE_TOL)
    names = np.array(models, dtype=object)
    return ["|".join(names[row]) if row.any() else None for row in top], have.sum(axis=1)


def compare(counts: dict, lines: dict, budgets: dict | None = None, num: int = DEFAULT_POINTS) -> pd.DataFrame:
    """The matched table of one family on one task.

    counts: model → (n, c) arrays, samples and correct samples per problem.
    lines:  unit ("flops" | "dollars") → {model: (fixed, per_k)}; a unit may list only some models (prices).
    budgets: unit → budgets (default: budget_grid of that unit). Returns COLUMNS, long format (one row per unit,
    budget and model), sorted by unit, budget, model.
    """
    frames = []
    for unit in UNITS:
        ln = {m: (float(f), float(p)) for m, (f, p) in sorted((lines.get(unit) or {}).items())}
        if not ln:
            continue
        missing = sorted(set(ln) - set(counts))
        if missing:
            raise ValueError(f"matched: no per-problem counts for {', '.join(missing)}")
        kmax = {m: int(np.min(counts[m][0])) for m in ln}
        grid = np.asarray(budgets[unit] if budgets and unit in budgets else budget_grid(ln, kmax, num), np.float64)
        models = list(ln)
        ks = np.stack([affordable_k(grid, *ln[m], kmax[m]) for m in models], axis=1)
        cov = np.stack([coverage_at(*counts[m], ks[:, j]) for j, m in enumerate(models)], axis=1)
        winner, have = _winners(cov, models)
        frames.append(pd.DataFrame({
            "unit": unit, "budget": np.repeat(grid, len(models)), "model": np.tile(models, len(grid)),
            "coverage": cov.reshape(-1), "winner": np.repeat(np.array(winner, dtype=object), len(models)),
            "models_at_budget": np.repeat(have, len(models)), "k": ks.reshape(-1)}))
    if not frames:
        return pd.DataFrame(columns=COLUMNS)
    return pd.concat(frames, ignore_index=True)[COLUMNS]


def winners(table: pd.DataFrame) -> pd.DataFrame:
    """One row per (unit, budget): the winner and how many models had a value there."""
    return table.drop_duplicates(["unit", "budget"])[["unit", "budget", "winner", "models_at_budget"]]


def run(counts_csvs: dict, flops_csvs: dict, cost_csvs: dict, out_csv, out_png=None, title: str = "",
        budgets: dict | None = None, num: int = DEFAULT_POINTS, palette=None) -> pd.DataFrame:
    """The matched rule: FLOPs- and dollar-matched comparison of one family on one task.

    counts_csvs: model → per-problem n/c table (the coverage stage's results/analysis/problems/…);
    flops_csvs / cost_csvs: model → the flops / cost stage's per-problem table (.problems.csv);
    palette: every model of the config (layout.palette_models), so a model has the same colour in every figure."""
    from . import cost, flops, io
    from .contracts import require_columns

    counts = {}
    for m, p in counts_csvs.items():
        t = pd.read_csv(p)
        require_columns(t, ["n", "c"], f"problem table {p}")
        counts[m] = (t["n"].to_numpy(), t["c"].to_numpy())
    lines = {"flops": {m: flops.flops_line(pd.read_csv(p), "v3") for m, p in flops_csvs.items()},
             "dollars": {m: cost.dollar_line(pd.read_csv(p)) for m, p in cost_csvs.items()}}
    t = compare(counts, lines, budgets=budgets, num=num)
    io.write_csv(t, out_csv)
    if out_png is not None:
        from .report import fig_matched
        fig_matched(t, out_png, title, palette)
    return t
