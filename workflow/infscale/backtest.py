"""Backtest of coverage forecasts: forecast from m samples per problem, compare with what all n samples show.

Each problem's n_i samples (c_i correct) are subsampled to m without replacement; the number correct among the m
is hypergeometric, which is exactly what m samples drawn at random from the n would give. From the m-sample
counts every method forecasts coverage at N = min_i n_i:
  - curve_fit and log_space: the Monkeys law exp(a·k^b) (Brown et al. 2024, arXiv 2407.21787) fitted to the
    coverage curve at 40 log-spaced k ≤ m, evaluated at N;
  - beta_binomial, scaled_beta, zero_inflated: the pass-rate distributions of infscale.forecast fitted on the
    (m, c_i^m), forecasting 1 − E[(1−p)^N] (Schaeffer et al. 2025, arXiv 2502.17578).
Each forecast is compared with the coverage all n samples give at N (exact pass@N, Chen et al. 2021), and its
power-law exponent b with the b the paper's curve fit gets from the full data (for a distribution, b is the law
fitted to its own forecast curve on the same 40 log-spaced k ≤ N). Only m ≤ N/10 are run.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import fit, forecast, io
from .contracts import ContractError, require_columns
from .coverage import coverage_from_counts, log_ks

MS = (10, 32, 100, 316, 1000)
REPEATS = 3
METHODS = fit.CURVE_METHODS + forecast.METHODS
COLUMNS = ["method", "m", "n", "problems", "repeats", "coverage_true", "coverage_forecast", "abs_error",
           "abs_error_max", "exponent_true", "exponent", "rel_error_exponent"]


def subsample(n, c, m: int, rng: np.random.Generator) -> np.ndarray:
    """Correct samples among m drawn without replacement from each problem's n_i (c_i correct)."""
    n, c = np.asarray(n, dtype=np.int64), np.asarray(c, dtype=np.int64)
    return rng.hypergeometric(c, n - c, m)


def _law_exponent(ks, cov) -> float:
    try:
        return fit.fit_curve_fit(ks, cov)[1]
    except (ValueError, RuntimeError):
        return float("nan")


def forecast_one(method: str, m: int, cm: np.ndarray, N: int) -> tuple[float, float]:
    """(coverage forecast at N, power-law exponent b) of one method from m samples per problem (cm correct)."""
    grid_m = log_ks(m, fit.FIT_POINTS)
    grid_N = log_ks(N, fit.FIT_POINTS).astype(np.float64)
    if method in fit.CURVE_METHODS:
        cov = coverage_from_counts(np.full(len(cm), m), cm, grid_m)
        fn = fit.fit_curve_fit if method == "curve_fit" else fit.fit_log_space
        try:
            a, b = fn(grid_m, cov)
        except (ValueError, RuntimeError):
            return float("nan"), float("nan")
        return float(fit.law(N, a, b)), b
    try:
        d = forecast.fit(method, np.full(len(cm), m), cm, n_boot=0)
    except ValueError:
        return float("nan"), float("nan")
    # the forecast for these problems: a problem solved in its m samples stays solved; an unsolved one is solved
    # with probability 1 − S(N)/S(m) (forecast.coverage_mixed)
    cov, _ = forecast.coverage_mixed(np.full(len(cm), m), cm, [N], d)
    return float(cov[0]), _law_exponent(grid_N, d.coverage(grid_N))


def run(n, c, ms=MS, repeats: int = REPEATS, seed: int = 0, methods=METHODS) -> pd.DataFrame:
    """The backtest table: one row per method × m (mean over `repeats` subsamples), columns COLUMNS."""
    n, c = np.asarray(n, dtype=np.int64), np.asarray(c, dtype=np.int64)
    N = int(n.min())
    use = sorted(int(m) for m in ms if 2 <= m <= N // 10)
    if not use:
        raise ContractError(f"backtest: need m <= n/10 for some m in {list(ms)}; the smallest n per problem is {N}")
    grid_N = log_ks(N, fit.FIT_POINTS)
    truth = float(coverage_from_counts(n, c, [N])[0])
    b_true = _law_exponent(grid_N.astype(np.float64), coverage_from_counts(n, c, grid_N))
    rng = np.random.default_rng(seed)
    raw = []
    for m in use:
        for r in range(repeats):
            cm = subsample(n, c, m, rng)
            for method in methods:
                cov, b = forecast_one(method, m, cm, N)
                raw.append({"method": method, "m": m, "repeat": r, "coverage_forecast": cov, "exponent": b})
    raw = pd.DataFrame(raw)
    raw["abs_error"] = (raw["coverage_forecast"] - truth).abs()
    raw["rel_error_exponent"] = ((raw["exponent"] - b_true) / b_true).abs()
    g = raw.groupby(["method", "m"], sort=False)
    out = g.agg(coverage_forecast=("coverage_forecast", "mean"), abs_error=("abs_error", "mean"),
                abs_error_max=("abs_error", "max"), exponent=("exponent", "mean"),
                rel_error_exponent=("rel_error_exponent", "mean")).reset_index()
    out["n"], out["problems"], out["repeats"] = N, len(n), repeats
    out["coverage_true"], out["exponent_true"] = truth, b_true
    return out[COLUMNS]


def plot(table: pd.DataFrame, path, title: str) -> None:
    """Absolute coverage error at n and relative exponent error against m, one line per method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    sns.set_theme(style="whitegrid")
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, col, label in ((axes[0], "abs_error", "|forecast − coverage| at n"),
                           (axes[1], "rel_error_exponent", "relative error of exponent b")):
        sns.lineplot(data=table, x="m", y=col, hue="method", style="method", markers=True, ax=ax)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("samples per problem used for the forecast (m)")
        ax.set_ylabel(label)
        ax.legend(fontsize=7)
    n = int(table["n"].iloc[0])
    fig.suptitle(f"{title}: forecast at n = {n:,} from m samples per problem "
                 f"(full-data coverage {table['coverage_true'].iloc[0]:.3f})", fontsize=9)
    io.write_png(fig, path, dpi=120)


def write_backtest(problems_csv, table_csv, plot_png, title: str, ms=MS, repeats: int = REPEATS,
                   seed: int = 0) -> pd.DataFrame:
    """The backtest stage: per-problem (n, c) table in, backtest table and plot out."""
    counts = pd.read_csv(problems_csv)
    require_columns(counts, ["n", "c"], f"per-problem table {problems_csv}")
    if counts.empty:
        raise ContractError(f"per-problem table {problems_csv} has no rows")
    table = run(counts["n"], counts["c"], ms=ms, repeats=repeats, seed=seed)
    io.write_csv(table, table_csv)
    plot(table, plot_png, title)
    return table
