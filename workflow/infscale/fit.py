"""Scaling-law fit of coverage against the number of samples (Brown et al. 2024, arXiv 2407.21787, §4, Fig. 5).

The Monkeys paper models coverage as log c ≈ a·k^b (a < 0, b < 0), fitted with scipy's curve_fit on
c = exp(a·k^b) at 40 log-spaced k with duplicates removed, and reports the fit error as mean ± std of |c − ĉ| over
100 log-spaced k. We also fit in log space: log(−log c) = log(−a) + b·log k is linear, so an ordinary least-squares
line gives (a, b) directly; it uses the same grid (40 log-spaced k), whatever k the coverage table holds, so the
answer does not depend on how densely the table samples k. The extrapolation check fits on k ≤ n/10 and reports
the error at k = n (from all n samples; infscale.backtest tests forecasts from fewer samples).

Beside the two curve fits, the fits table holds the distributional forecasts of infscale.forecast (beta-binomial,
scaled Beta, zero-inflated), fitted on the per-problem (n_i, c_i): their (a, b) are the law fitted to their own
forecast curve on the same grid, and every row gives the forecast coverage at k_max (with a bootstrap CI for the
distributional rows). A fit that rests on fewer than MIN_SOLVED solved problems says so in its `note`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import curve_fit

from . import forecast
from .coverage import log_ks

FIT_POINTS = 40      # paper: 40 log-spaced k for the fit
ERROR_POINTS = 100   # paper: 100 log-spaced k for the error
MIN_SOLVED = 3       # fewer solved problems than this: a fit is reported, but not as a scaling law
CURVE_METHODS = ("curve_fit", "log_space")
COLUMNS = ["method", "a", "b", "err_mean", "err_std", "extrap_a", "extrap_b", "extrap_err", "n", "coverage_at_n",
           "k_max", "forecast", "forecast_low", "forecast_high", "alpha", "beta", "scale", "pi", "loglik", "aic",
           "n_free", "problems", "solved", "note", "error", "extrap_error"]


def law(k, a, b):
    """ĉ(k) = exp(a·k^b)."""
    return np.exp(a * np.power(np.asarray(k, dtype=np.float64), b))


def _interp(ks: np.ndarray, cov: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Coverage at integer k taken from the curve (exact where the curve has that k, else log-linear interp)."""
    return np.interp(np.log(at), np.log(ks), cov)


def _clean(ks, cov):
    ks = np.asarray(ks, dtype=np.float64)
    cov = np.asarray(cov, dtype=np.float64)
    ok = np.isfinite(cov) & np.isfinite(ks) & (ks >= 1)
    ks, cov = ks[ok], cov[ok]
    order = np.argsort(ks)
    ks, cov = ks[order], cov[order]
    if len(ks) < 2:
        raise ValueError("fit: need coverage at 2 or more k")
    return ks, cov


def fit_curve_fit(ks, cov, kmax: float | None = None, points: int = FIT_POINTS) -> tuple[float, float]:
    """The paper's fit: curve_fit of c = exp(a·k^b) at `points` log-spaced k ≤ kmax (duplicates removed)."""
    ks, cov = _clean(ks, cov)
    kmax = ks.max() if kmax is None else min(kmax, ks.max())
    if int(kmax) < 2:
        raise ValueError(f"fit: need k up to at least 2 to fit, got kmax = {kmax}")
    at = log_ks(int(kmax), points).astype(np.float64)
    at = at[at >= ks.min()]
    y = _interp(ks, cov, at)
    if np.all(y <= 0):
        raise ValueError("fit: coverage is 0 at every k; a power law cannot be fitted")
    a0, b0 = fit_log_space(at, y) if np.any((y > 0) & (y < 1)) and ((y > 0) & (y < 1)).sum() >= 2 else (-1.0, -0.5)
    if not (np.isfinite(a0) and np.isfinite(b0)):
        a0, b0 = -1.0, -0.5
    popt, _ = curve_fit(law, at, y, p0=(a0, b0), maxfev=20000)
    return float(popt[0]), float(popt[1])


def fit_log_space(ks, cov, kmax: float | None = None, points: int = FIT_POINTS) -> tuple[float, float]:
    """Least squares on log(−log c) = log(−a) + b·log k at the paper's `points` log-spaced k ≤ kmax (the
    coverage is read off the curve at those k), using the points with 0 < c < 1."""
    ks, cov = _clean(ks, cov)
    kmax = ks.max() if kmax is None else min(kmax, ks.max())
    at = log_ks(max(int(kmax), 1), points).astype(np.float64)
    at = at[at >= ks.min()]
    y = _interp(ks, cov, at)
    ok = (y > 0) & (y < 1)
    if ok.sum() < 2:
        raise ValueError("fit: need 2 or more k with 0 < coverage < 1 for the log-space fit")
    x = np.log(at[ok])
    y = np.log(-np.log(y[ok]))
    b, intercept = np.polyfit(x, y, 1)
    return float(-np.exp(intercept)), float(b)


def fit_error(ks, cov, a: float, b: float, kmax: float | None = None, points: int = ERROR_POINTS) -> tuple[float, float]:
    """Mean and std of |c − ĉ| over `points` log-spaced k (duplicates removed), as in the paper's Fig. 5."""
    ks, cov = _clean(ks, cov)
    kmax = ks.max() if kmax is None else kmax
    at = log_ks(int(kmax), points).astype(np.float64)
    at = at[at >= ks.min()]
    err = np.abs(_interp(ks, cov, at) - law(at, a, b))
    return float(err.mean()), float(err.std())


def solved_note(solved: int | None) -> str:
    """One line when a fit rests on fewer than MIN_SOLVED solved problems, else ''."""
    if solved is None or solved >= MIN_SOLVED:
        return ""
    return (f"rests on {solved} solved problem{'s' if solved != 1 else ''} (< {MIN_SOLVED}): "
            "a description of this run, not a scaling law")


def fit_all(ks, cov, n: int | None = None, counts: pd.DataFrame | None = None, k_max: int | None = None,
            n_boot: int = forecast.N_BOOT, level: float = forecast.LEVEL, seed: int = 0,
            dists: dict | None = None) -> pd.DataFrame:
    """Both curve fits with their errors, plus the extrapolation check (fit on k ≤ n/10, error at k = n), and,
    given the per-problem `counts` (columns n, c), one row per distributional forecast.

    Columns: method, a, b, err_mean, err_std, extrap_a, extrap_b, extrap_err (|c(n) − ĉ(n)|), n, coverage_at_n,
    then k_max, forecast, forecast_low, forecast_high (coverage forecast at k_max; CI for distributional rows),
    alpha, beta, scale, pi, loglik, aic (distributional rows), problems, solved, note.
    """
    ks, cov = _clean(ks, cov)
    n = int(ks.max()) if n is None else int(n)
    k_max = max(int(k_max or n), n)
    c_n = float(_interp(ks, cov, np.array([float(n)]))[0])
    rows = []
    for method, fn in (("curve_fit", fit_curve_fit), ("log_space", fit_log_space)):
        row = {"method": method}
        try:
            a, b = fn(ks, cov)
            row.update(a=a, b=b, forecast=float(law(k_max, a, b)))
            row["err_mean"], row["err_std"] = fit_error(ks, cov, a, b)
        except (ValueError, RuntimeError) as exc:
            row.update(a=np.nan, b=np.nan, err_mean=np.nan, err_std=np.nan, error=str(exc))
        try:
            ea, eb = fn(ks, cov, kmax=n / 10)
            row.update(extrap_a=ea, extrap_b=eb, extrap_err=abs(c_n - float(law(n, ea, eb))))
        except (ValueError, RuntimeError) as exc:
            row.update(extrap_a=np.nan, extrap_b=np.nan, extrap_err=np.nan, extrap_error=str(exc))
        rows.append(row)
    solved = problems = None
    if counts is not None:
        nn, cc = counts["n"].to_numpy(), counts["c"].to_numpy()
        problems, solved = len(nn), int((cc > 0).sum())
        if dists is None:
            dists = forecast.fit_all(nn, cc, n_boot=n_boot, level=level, seed=seed)
        for method in forecast.METHODS:
            rows.append(_dist_row(method, dists.get(method), ks, cov, n, k_max, nn, cc))
    out = pd.DataFrame(rows)
    out["n"] = n
    out["coverage_at_n"] = c_n
    out["k_max"] = k_max
    out["problems"] = problems
    out["solved"] = solved
    out["note"] = solved_note(solved)
    return out.reindex(columns=COLUMNS)


def _dist_row(method: str, d, ks, cov, n: int, k_max: int, nn, cc) -> dict:
    """A distributional row: error against the data curve, and the forecast at k_max for these problems (a problem
    already solved stays solved; forecast.coverage_mixed_ci), with its bootstrap interval."""
    if d is None:
        return {"method": method, "a": np.nan, "b": np.nan, "error": "no problem solved: nothing to fit"}
    at = log_ks(n, ERROR_POINTS).astype(np.float64)
    at = at[at >= ks.min()]
    err = np.abs(_interp(ks, cov, at) - d.coverage(at))
    f, lo, hi, _ = forecast.coverage_mixed_ci(nn, cc, [k_max], d)
    row = {"method": method, "err_mean": float(err.mean()), "err_std": float(err.std()),
           "forecast": float(f[0]), "forecast_low": float(lo[0]), "forecast_high": float(hi[0]),
           **d.params()}
    try:
        grid = log_ks(n, FIT_POINTS).astype(np.float64)
        row["a"], row["b"] = fit_curve_fit(grid, d.coverage(grid))
    except (ValueError, RuntimeError) as exc:
        row.update(a=np.nan, b=np.nan, error=str(exc))
    return row


def forecast_table(ks, cov, counts: pd.DataFrame | None, fits: pd.DataFrame, k_max: int,
                   dists: dict | None = None, points: int = ERROR_POINTS) -> pd.DataFrame:
    """Coverage against k up to k_max for every method: columns method, k, coverage, ci_low, ci_high, kind.

    kind is `data` for the measured curve (k within the data), `fit` for a curve or distribution evaluated where
    data exist, and `forecast` beyond the largest measured k. The row method `mixed` is the exact pass@k where
    k ≤ n_i and the best distributional forecast (lowest AIC) for problems with fewer than k samples
    (forecast.coverage_mixed); it is labelled `forecast` wherever any problem needed the forecast.
    """
    ks, cov = _clean(ks, cov)
    kdata = int(ks.max())
    at = np.unique(np.r_[log_ks(int(k_max), points), kdata]).astype(np.float64)
    rows = [pd.DataFrame({"method": "data", "k": ks, "coverage": cov, "kind": "data"})]

    def kind(k):
        return np.where(k <= kdata, "fit", "forecast")

    for r in fits.itertuples():
        if r.method in CURVE_METHODS and np.isfinite(r.a):
            rows.append(pd.DataFrame({"method": r.method, "k": at, "coverage": law(at, r.a, r.b), "kind": kind(at)}))
    for method, d in (dists or {}).items():
        lo, hi = d.coverage_ci(at)
        rows.append(pd.DataFrame({"method": method, "k": at, "coverage": d.coverage(at), "ci_low": lo,
                                  "ci_high": hi, "kind": kind(at)}))
    if counts is not None and dists:
        mixed, exact = forecast.coverage_mixed(counts["n"], counts["c"], at.astype(np.int64), forecast.best(dists))
        rows.append(pd.DataFrame({"method": "mixed", "k": at, "coverage": mixed,
                                  "kind": np.where(exact, "data", "forecast")}))
    out = pd.concat(rows, ignore_index=True)
    out["k"] = out["k"].astype(np.int64)
    return out[["method", "k", "coverage", "ci_low", "ci_high", "kind"]] if "ci_low" in out else \
        out.assign(ci_low=np.nan, ci_high=np.nan)[["method", "k", "coverage", "ci_low", "ci_high", "kind"]]


def plot_fits(curve: pd.DataFrame, fc: pd.DataFrame, fits: pd.DataFrame, path, title: str) -> None:
    """Coverage against k with every fit: solid where data exist, dashed beyond them; the note when a fit rests on
    fewer than MIN_SOLVED solved problems."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    from . import io

    sns.set_theme(style="whitegrid")
    fig, ax = plt.subplots(figsize=(6.5, 4))
    ax.plot(curve["k"], curve["coverage"], color="black", linewidth=2, label="data")
    if {"ci_low", "ci_high"} <= set(curve.columns):
        ax.fill_between(curve["k"], curve["ci_low"], curve["ci_high"], color="black", alpha=0.15, linewidth=0)
    colors = dict(zip([m for m in fc["method"].unique() if m != "data"], sns.color_palette(n_colors=8)))
    for m, g in fc[fc["method"] != "data"].groupby("method", sort=False):
        inside, beyond = g[g["kind"] != "forecast"], g[g["kind"] == "forecast"]
        if len(beyond) and len(inside):
            beyond = pd.concat([inside.tail(1), beyond])
        ax.plot(inside["k"], inside["coverage"], color=colors[m], linewidth=1, label=m)
        ax.plot(beyond["k"], beyond["coverage"], color=colors[m], linewidth=1, linestyle="--")
        if g["ci_low"].notna().any():
            ax.fill_between(beyond["k"], beyond["ci_low"], beyond["ci_high"], color=colors[m], alpha=0.1,
                            linewidth=0)
    ax.axvline(curve["k"].max(), color="grey", linewidth=0.8, linestyle=":")
    ax.set_xscale("log")
    ax.set_ylim(0, 1)
    ax.set_xlabel("number of samples k (log); dashed: forecast beyond the data")
    ax.set_ylabel("coverage")
    note = fits["note"].iloc[0] if "note" in fits and len(fits) and isinstance(fits["note"].iloc[0], str) else ""
    ax.set_title(title + (f"\n{note}" if note else ""), fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    io.write_png(fig, path, dpi=120)


def write_fits(curve_csv, problems_csv, fits_csv, forecast_csv, plot_png, title: str, k_max: int | None = None,
               n_boot: int = forecast.N_BOOT, level: float = forecast.LEVEL, seed: int = 0) -> pd.DataFrame:
    """The fit stage: the fits table, the forecast table (coverage vs k up to k_max, every method) and the plot."""
    from . import io
    from .contracts import require_columns

    curve = pd.read_csv(curve_csv)
    require_columns(curve, ["k", "coverage"], f"coverage table {curve_csv}")
    counts = pd.read_csv(problems_csv) if problems_csv else None
    if counts is not None:
        require_columns(counts, ["n", "c"], f"per-problem table {problems_csv}")
    ks, cov = curve["k"].to_numpy(), curve["coverage"].to_numpy()
    dists = forecast.fit_all(counts["n"], counts["c"], n_boot=n_boot, level=level, seed=seed) \
        if counts is not None else {}
    fits = fit_all(ks, cov, counts=counts, k_max=k_max, dists=dists)
    k_max = int(fits["k_max"].iloc[0])
    fc = forecast_table(ks, cov, counts, fits, k_max, dists=dists)
    io.write_csv(fits, fits_csv)
    io.write_csv(fc, forecast_csv)
    plot_fits(curve, fc, fits, plot_png, title)
    return fits
