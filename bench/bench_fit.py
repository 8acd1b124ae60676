"""Benchmark: distributional forecast fits at paper shape (140 problems × 10⁴ samples), with bootstrap CIs.

infscale (infscale.forecast): maximum likelihood on the distinct (n, c) pairs and 200 bootstrap refits done at
once by a batched Newton method. Baseline = what one would write with scipy alone: the sum of
`scipy.stats.betabinom.logpmf` over problems, `scipy.optimize.minimize` (Nelder-Mead) for the point fit, and a
Python loop refitting each bootstrap replicate the same way. The baseline is timed on BASE_REPS replicates and
scaled to 200 (its cost per replicate is flat). Both must agree on (α, β) to 1e-3 relative. Also times the three
families together and the fit stage's whole write_fits on the same data.
Writes results/bench/fit.json and prints one line.
"""
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import optimize, stats

from infscale import fit, forecast, io  # noqa: E402
from infscale.coverage import bootstrap_ci, log_ks  # noqa: E402

PROBLEMS, N, BOOT, BASE_REPS = 140, 10_000, 200, 10


def _naive_fit(n, c, x0=(np.log(0.3), np.log(3.0))):
    def nll(t):
        return -stats.betabinom.logpmf(c, n, np.exp(t[0]), np.exp(t[1])).sum()
    r = optimize.minimize(nll, x0, method="Nelder-Mead", options={"xatol": 1e-6, "fatol": 1e-8, "maxiter": 4000})
    return np.exp(r.x)


def main() -> None:
    rng = np.random.default_rng(0)
    n = np.full(PROBLEMS, N)
    c = rng.binomial(N, rng.beta(0.3, 3.0, PROBLEMS))

    t0 = time.perf_counter()
    ours = forecast.fit("beta_binomial", n, c, n_boot=BOOT)
    t_ours = time.perf_counter() - t0

    t0 = time.perf_counter()
    base = _naive_fit(n, c)
    draws = rng.multinomial(PROBLEMS, np.full(PROBLEMS, 1 / PROBLEMS), size=BASE_REPS)
    for w in draws:
        idx = np.repeat(np.arange(PROBLEMS), w)
        _naive_fit(n[idx], c[idx], x0=np.log(base))
    t_base_sub = time.perf_counter() - t0
    t_base = t_base_sub / (BASE_REPS + 1) * (BOOT + 1)

    diff = float(np.max(np.abs(np.array([ours.alpha, ours.beta]) / base - 1)))
    assert diff < 1e-3, f"beta-binomial fit differs from the scipy baseline by {diff:.1e} (relative)"

    t0 = time.perf_counter()
    all3 = forecast.fit_all(n, c, n_boot=BOOT)
    t_all3 = time.perf_counter() - t0

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        ks = log_ks(N, 200)
        bootstrap_ci(n, c, ks).to_csv(tmp / "cov.csv", index=False)
        pd.DataFrame({"problem_id": range(PROBLEMS), "n": n, "c": c}).to_csv(tmp / "pp.csv", index=False)
        t0 = time.perf_counter()
        fit.write_fits(tmp / "cov.csv", tmp / "pp.csv", tmp / "f.csv", tmp / "fc.csv", tmp / "f.png", "bench",
                       k_max=10 * N, n_boot=BOOT)
        t_stage = time.perf_counter() - t0

    lo, hi = ours.coverage_ci([N])
    result = {
        "problems": PROBLEMS, "samples_per_problem": N, "bootstrap": BOOT,
        "infscale_beta_binomial_s": t_ours, "baseline_beta_binomial_s_extrapolated": t_base,
        "baseline_measured_s": t_base_sub, "baseline_replicates_timed": BASE_REPS,
        "ratio": t_base / t_ours, "max_rel_param_diff": diff,
        "infscale_three_families_s": t_all3, "fit_stage_s": t_stage,
        "alpha": ours.alpha, "beta": ours.beta, "coverage_ci_at_n": [float(lo[0]), float(hi[0])],
        "families": {m: {"alpha": f.alpha, "beta": f.beta, "scale": f.scale, "pi": f.pi, "aic": f.aic}
                     for m, f in all3.items()},
    }
    out = Path(__file__).resolve().parents[1] / "results/bench/fit.json"
    io.write_json(result, out)
    print(f"forecast fit 140x1e4, {BOOT} bootstrap refits: infscale {t_ours:.2f}s vs scipy loop ~{t_base:.0f}s "
          f"(ratio {result['ratio']:.0f}x; measured {t_base_sub:.1f}s for {BASE_REPS}+1 fits); "
          f"3 families {t_all3:.1f}s; fit stage {t_stage:.1f}s; max param diff {diff:.1e}")


if __name__ == "__main__":
    main()
