"""Compute-optimal allocation of samples across models and difficulty bins (a multiple-choice knapsack).

Snell et al. (2024, arXiv 2408.03314, §3) choose the test-time strategy per difficulty bin (5 quantile bins of a
question's pass@1, bin 1 the easiest) to maximise accuracy at a compute budget. Here the choices are "k samples of model m" per bin,
with expected solved problems N_b · pass@k_{m,b} (Brown et al. 2024 coverage, mean over the bin's problems) and
cost N_b · k · cost_{m,b} (FLOPs or dollars per sample). Exactly one option (or nothing) per bin, total cost
within the budget: an integer program solved with PuLP's bundled CBC solver.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pulp

from .coverage import pass_at_k, per_problem, problem_table, quantile_bins


def difficulty_bins(merged: pd.DataFrame, n_bins: int = 5) -> pd.Series:
    """Bin per problem_id from quantiles of pass@1 (Snell et al. §3.2): 1 = easiest … n_bins = hardest, the same
    binning and pass@1 as search's oracle difficulty (coverage.quantile_bins, coverage.problem_table)."""
    p1 = problem_table(merged).set_index("problem_id")["pass1"]
    return quantile_bins(p1, n_bins).rename("bin")


def bin_curves(merged: pd.DataFrame, bins: pd.Series, ks) -> pd.DataFrame:
    """Mean pass@k per bin for one model's merged table: bin, k, coverage, problems."""
    pp = per_problem(merged)
    missing = set(pp["problem_id"]) - set(bins.index)
    if missing:
        raise ValueError(f"allocate: {len(missing)} problem(s) have no difficulty bin, e.g. {sorted(missing)[0]!r}")
    ks = np.asarray([k for k in ks if k <= pp["n"].min()])
    pm = pass_at_k(pp["n"], pp["c"], ks)
    b = bins.loc[pp["problem_id"]].to_numpy()
    rows = []
    for bi in np.unique(b):
        sel = b == bi
        for j, k in enumerate(ks):
            rows.append({"bin": int(bi), "k": int(k), "coverage": float(pm[sel, j].mean()), "problems": int(sel.sum())})
    return pd.DataFrame(rows)


def _options(curves: pd.DataFrame, unit_cost: pd.DataFrame) -> pd.DataFrame:
    """curves: model, bin, k, coverage, problems; unit_cost: model, bin, cost (per sample per problem) and
    optionally fixed (paid once per problem when it gets any sample, e.g. the prefill of Monkeys v3 FLOPs)."""
    o = curves.merge(unit_cost, on=["model", "bin"], how="left", validate="many_to_one")
    if o["cost"].isna().any():
        bad = o[o["cost"].isna()].iloc[0]
        raise ValueError(f"allocate: no per-sample cost for model {bad['model']!r}, bin {bad['bin']}")
    o["value"] = o["problems"] * o["coverage"]
    fixed = o["fixed"].fillna(0.0) if "fixed" in o.columns else 0.0  # e.g. a shared prompt prefill per problem
    o["total_cost"] = o["problems"] * (o["k"] * o["cost"] + fixed)
    return o.reset_index(drop=True)


def solve(options: pd.DataFrame, budget: float) -> tuple[float, pd.DataFrame]:
    """Best plan within `budget`: (expected solved, chosen option rows). At most one option per bin."""
    prob = pulp.LpProblem("allocate", pulp.LpMaximize)
    x = [prob.add_variable(f"x{i}", 0, 1, cat="Binary") for i in range(len(options))]
    prob += pulp.lpSum(float(v) * xi for v, xi in zip(options["value"], x))
    prob += pulp.lpSum(float(c) * xi for c, xi in zip(options["total_cost"], x)) <= float(budget)
    for _, idx in options.groupby("bin").groups.items():
        prob += pulp.lpSum(x[i] for i in idx) <= 1
    with warnings.catch_warnings():  # PuLP 3.3 marks its bundled-CBC class deprecated for 4.0; it is what ships
        warnings.simplefilter("ignore", DeprecationWarning)
        status = prob.solve(pulp.PULP_CBC_CMD(msg=False))
    if pulp.LpStatus[status] != "Optimal":
        raise RuntimeError(f"allocate: CBC returned {pulp.LpStatus[status]} at budget {budget}")
    chosen = [i for i, xi in enumerate(x) if (xi.value() or 0) > 0.5]
    plan = options.loc[chosen]
    return float(plan["value"].sum()), plan


def frontier(curves: pd.DataFrame, unit_cost: pd.DataFrame, budgets) -> pd.DataFrame:
    """Allocation frontier over budgets and every single model with one k for all problems.

    Output rows: budget, strategy ('allocated' or 'single:<model>'), solved (expected problems), coverage
    (solved / problems), cost (spent), plan (JSON: bin → [model, k]).
    """
    options = _options(curves, unit_cost)
    total = options.groupby("bin")["problems"].first().sum()
    rows = []
    for bud in budgets:
        solved, plan = solve(options, bud)
        rows.append({"budget": float(bud), "strategy": "allocated", "solved": solved, "coverage": solved / total,
                     "cost": float(plan["total_cost"].sum()),
                     "plan": json.dumps({str(r.bin): [r.model, int(r.k)] for r in plan.itertuples()}, sort_keys=True)})
        for m, g in options.groupby("model"):
            per_k = g.groupby("k").agg(value=("value", "sum"), cost=("total_cost", "sum"))
            per_k = per_k[per_k["cost"] <= bud * (1 + 1e-12)]
            best = per_k["value"].idxmax() if len(per_k) else None
            v = float(per_k.loc[best, "value"]) if best is not None else 0.0
            rows.append({"budget": float(bud), "strategy": f"single:{m}", "solved": v, "coverage": v / total,
                         "cost": float(per_k.loc[best, "cost"]) if best is not None else 0.0,
                         "plan": json.dumps({"k": int(best) if best is not None else 0})})
    return pd.DataFrame(rows)


def run(merged_paths: dict, problem_cost_csvs: dict, out_csv, cost_column: str = "flops_v3", n_bins: int = 5,
        budgets=None, ks=None) -> pd.DataFrame:
    """The allocate rule: compute-optimal allocation over models × difficulty bins for one dataset.

    cost_column: analysis.allocate.cost (flops_v3, flops_v1 or dollars, i.e. dollars_per_attempt).
    problem_cost_csvs: model → per-problem cost table (flops `.problems.csv` with prefill_v3/decode_v3, or cost
    `.problems.csv` with dollars_per_attempt). Bins come from pass@1 over all models' samples pooled.
    """
    from . import io

    cost_column = {"dollars": "dollars_per_attempt"}.get(cost_column, cost_column)  # analysis.allocate.cost
    merged = {m: io.read_merged(p) for m, p in merged_paths.items()}
    pooled = pd.concat([d[["problem_id", "sample_index", "correct"]] for d in merged.values()], ignore_index=True)
    bins = difficulty_bins(pooled, n_bins)
    nmin = min(int(d.groupby("problem_id").size().min()) for d in merged.values())
    ks = ks or sorted(set(int(2 ** i) for i in range(int(np.log2(nmin)) + 1)) | {nmin})
    curves, unit = [], []
    for m, d in merged.items():
        curves.append(bin_curves(d, bins, ks).assign(model=m))
        pc = pd.read_csv(problem_cost_csvs[m], dtype={"problem_id": str}).set_index("problem_id")
        pc["bin"] = bins.reindex(pc.index).to_numpy()
        if cost_column.startswith("flops"):
            v = cost_column.split("_")[1]
            g = pc.groupby("bin").agg(cost=(f"decode_{v}", "mean"), fixed=(f"prefill_{v}", "mean"))
        else:
            g = pc.groupby("bin").agg(cost=("dollars_per_attempt", "mean"))
        unit.append(g.reset_index().assign(model=m))
    curves, unit = pd.concat(curves, ignore_index=True), pd.concat(unit, ignore_index=True)
    if budgets is None:
        opts = _options(curves, unit)
        lo = opts.groupby("bin")["total_cost"].min().min()
        hi = opts.groupby("bin")["total_cost"].max().sum()
        budgets = np.logspace(np.log10(lo), np.log10(hi), 12)
    t = frontier(curves, unit, budgets)
    t["cost_column"] = cost_column
    io.write_csv(t, out_csv)
    return t
