"""Coverage (pass@k) from verified samples.

pass@k for one problem with n samples of which c are correct is 1 − C(n−c, k)/C(n, k) (Chen et al. 2021,
arXiv 2107.03374), computed in the stable product form 1 − ∏_{j=n−c+1}^{n} (1 − k/j), which is 1 when n − c < k.
Coverage (Brown et al. 2024, arXiv 2407.21787, §2) is its mean over problems.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# The bootstrap over problems of the coverage CIs, for calls without a config; the coverage rule passes
# analysis.bootstrap, whose schema defaults tests/test_config.py checks these against.
N_BOOT = 1000
LEVEL = 0.95


def per_problem(merged: pd.DataFrame) -> pd.DataFrame:
    """n (samples) and c (correct samples) per problem."""
    g = merged.groupby("problem_id", sort=True)["correct"]
    return pd.DataFrame({"n": g.size(), "c": g.sum().astype(int)}).reset_index()


def _ratio_rows(n: int, ms: np.ndarray, ks: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """C(m, k)/C(n, k) = ∏_{j=m+1}^{n} (1 − k/j) for every m in `ms` and every k, built by one downward sweep.

    Walking j from n down to min(ms) multiplies one factor per step into a vector over k, so all k and all c of
    one n cost O(n·len(ks)) instead of O(Σc·len(ks)). The factors are exactly those of the stable form of
    Chen et al. (2021); a factor is 0 once j = k, which is the C(m, k) = 0 case (m < k).
    With `weights` (one per m) the weighted sum over m is returned (shape (len(ks),)) instead of one row per m.
    """
    ms = np.asarray(ms, dtype=np.int64)
    kf = ks.astype(np.float64)
    ratio = np.ones(len(ks))
    want = {int(m): i for i, m in enumerate(ms)}
    rows = None if weights is not None else np.empty((len(ms), len(ks)))
    acc = np.zeros(len(ks))
    lo = int(ms.min()) if len(ms) else n
    for m in range(n, lo - 1, -1):
        if m < n:
            ratio *= 1.0 - kf / (m + 1)
        i = want.get(m)
        if i is not None:
            r = np.where(kf > m, 0.0, ratio)
            if rows is None:
                acc += weights[i] * r
            else:
                rows[i] = r
    return acc if rows is None else rows


def _check_counts(n, c, ks):
    n = np.asarray(n, dtype=np.int64).reshape(-1)
    c = np.asarray(c, dtype=np.int64).reshape(-1)
    ks = np.asarray(ks, dtype=np.int64).reshape(-1)
    if len(n) != len(c):
        raise ValueError(f"pass_at_k: n and c differ in length ({len(n)} vs {len(c)})")
    if np.any(c > n) or np.any(c < 0):
        raise ValueError("pass_at_k: need 0 <= c <= n for every problem")
    if np.any(ks < 1):
        raise ValueError("pass_at_k: every k must be >= 1")
    return n, c, ks


def pass_at_k(n: np.ndarray, c: np.ndarray, ks: np.ndarray) -> np.ndarray:
    """Unbiased pass@k, shape (problems, len(ks)), vectorised over problems and k; NaN where k > n.

    pass@k = 1 − ∏_{j=n−c+1}^{n} (1 − k/j) (Chen et al. 2021, stable form). Problems sharing (n, c) are computed
    once; problems sharing n share one sweep over j (see _ratio_rows).
    """
    n, c, ks = _check_counts(n, c, ks)
    out = np.empty((len(n), len(ks)))
    for ni in np.unique(n):
        sel = np.flatnonzero(n == ni)
        ms, inverse = np.unique(ni - c[sel], return_inverse=True)
        rows = 1.0 - _ratio_rows(int(ni), ms, ks)
        rows[:, ks > ni] = np.nan
        out[sel] = rows[np.asarray(inverse).reshape(-1)]
    return out


def coverage_from_counts(n: np.ndarray, c: np.ndarray, ks: np.ndarray) -> np.ndarray:
    """Mean pass@k over problems for every k, without building the problems × k matrix.

    5,000 problems × 10⁴ samples × all 10⁴ k is one sweep of 10⁴ steps over a 10⁴-vector (bench/bench_coverage.py).
    NaN for k larger than the smallest n.
    """
    n, c, ks = _check_counts(n, c, ks)
    if len(n) == 0:
        raise ValueError("coverage: no problems")
    total = np.zeros(len(ks))
    for ni in np.unique(n):
        sel = n == ni
        ms, counts = np.unique(ni - c[sel], return_counts=True)
        total += counts.sum() - _ratio_rows(int(ni), ms, ks, weights=counts.astype(np.float64))
    cov = total / len(n)
    cov[ks > n.min()] = np.nan
    return cov


def problem_weights(inverse: np.ndarray, n_groups: int, n_boot: int, seed: int) -> np.ndarray:
    """Bootstrap over problems (resample problems with replacement), as weights on groups of problems that share
    their data: problem i belongs to group inverse[i]; returns replicates × groups counts. Used by the coverage CI,
    the adaptive coverage CI and the forecast fits' bootstrap."""
    inverse = np.asarray(inverse).reshape(-1)
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(len(inverse), np.full(len(inverse), 1.0 / len(inverse)), size=n_boot)
    w = np.zeros((n_boot, n_groups))
    np.add.at(w.T, inverse, draws.T)
    return w


def _percentile_ci(reps: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(reps, [alpha, 1.0 - alpha], axis=0)
    return lo, hi


def bootstrap_ci(n: np.ndarray, c: np.ndarray, ks: np.ndarray, n_boot: int = N_BOOT, level: float = LEVEL,
                 seed: int = 0) -> pd.DataFrame:
    """Percentile bootstrap over problems (resample problems with replacement) for coverage at each k.

    Each replicate weights the problems by multinomial counts, so the replicate coverage is W @ pass_matrix / P.
    Problems sharing (n, c) are collapsed first, so the matrix product is (replicates × distinct pairs × k).
    """
    n, c, ks = _check_counts(n, c, ks)
    if not 0 < level < 1:
        raise ValueError(f"bootstrap level must be in (0, 1), got {level}")
    pairs, inverse = np.unique(np.stack([n, c], axis=1), axis=0, return_inverse=True)
    inverse = np.asarray(inverse).reshape(-1)
    pm = pass_at_k(pairs[:, 0], pairs[:, 1], ks)
    reps = problem_weights(inverse, len(pairs), n_boot, seed) @ np.nan_to_num(pm) / len(n)
    lo, hi = _percentile_ci(reps, level)
    point = pm[inverse].mean(axis=0)
    bad = ks > n.min()
    lo[bad] = hi[bad] = np.nan
    return pd.DataFrame({"k": ks, "coverage": point, "ci_low": lo, "ci_high": hi, "std": reps.std(axis=0, ddof=1)})


def pass_hat_k(n: np.ndarray, c: np.ndarray, ks: np.ndarray) -> np.ndarray:
    """pass^k, the chance that all k samples are correct (Yao et al. 2024, τ-bench, arXiv 2406.12045), averaged over
    problems: the unbiased C(c, k)/C(n, k) per problem, in log-gamma form; NaN where k > min n."""
    n, c, ks = _check_counts(n, c, ks)
    kf = ks.astype(np.float64)[None, :]
    nf, cf = n.astype(np.float64)[:, None], c.astype(np.float64)[:, None]
    from scipy.special import gammaln

    with np.errstate(invalid="ignore"):
        log = gammaln(cf + 1) - gammaln(np.maximum(cf - kf, 0) + 1) - gammaln(nf + 1) + gammaln(np.maximum(nf - kf, 0) + 1)
    per = np.where(kf <= cf, np.exp(log), 0.0)
    out = per.mean(axis=0)
    out[ks > n.min()] = np.nan
    return out


def discard_attempts(n: np.ndarray, c: np.ndarray, ks: np.ndarray) -> np.ndarray:
    """Mean attempts per problem when sampling stops at the first success, capped at k (Reset-and-Discard, Meir et
    al. 2026, arXiv 2601.21522): E[min(T, k)] = Σ_{j<k} E[(1−p)^j], and C(n−c, j)/C(n, j) = 1 − pass@j is unbiased
    for E[(1−p)^j], so the mean is 1 + Σ_{j=1}^{k−1} (1 − coverage(j)). Coverage is unchanged by stopping, so
    coverage@cost pairs coverage(k) with these attempts (against k for uniform sampling). NaN where k > min n."""
    n, c, ks = _check_counts(n, c, ks)
    top = int(min(ks.max(), n.min()))
    cov = coverage_from_counts(n, c, np.arange(1, top + 1)) if top > 1 else np.zeros(1)
    cum = np.r_[0.0, np.cumsum(1.0 - cov)]  # cum[k-1] = Σ_{j=1}^{k−1} (1 − coverage(j))
    out = np.full(len(ks), np.nan)
    ok = ks <= n.min()
    out[ok] = 1.0 + cum[ks[ok] - 1]
    return out


def problem_table(merged: pd.DataFrame) -> pd.DataFrame:
    """The per-problem table, sorted by problem_id: n, c, and pass@1 = c/n (the empirical solve rate).

    The one place pass@1 per problem is computed: coverage's problems table, the difficulty bins of allocation and
    search, and a larger model's pass@1 in the FLOPs exchange all read it from here."""
    from .contracts import require_columns
    require_columns(merged, ["problem_id", "correct"], "merged table")
    pp = per_problem(merged)
    pp["pass1"] = pp["c"] / pp["n"]
    return pp


def quantile_bins(values: pd.Series, n_bins: int = 5) -> pd.Series:
    """The one difficulty binning: equal-count quantile bins 1..n_bins of `values` (pass@1, or a mean PRM score).

    Orientation as Snell et al. (2024, arXiv 2408.03314, §3.2): bin 1 holds the highest values (the easiest
    questions), bin n_bins the lowest (the hardest). Bin sizes differ by at most one; ties are broken by position:
    among equal values the earlier entry (problems come sorted by problem_id) gets the easier bin. With fewer
    values than bins, each value is its own bin 1..len(values)."""
    if values.isna().any():
        raise ValueError(f"cannot bin {int(values.isna().sum())} question(s) without a value")
    n = len(values)
    n_bins = max(min(n_bins, n), 1)
    ranks = values.rank(method="first", ascending=False).astype(int) - 1  # 0 = highest value
    return (ranks * n_bins // max(n, 1) + 1).astype("int64")


def log_ks(kmax: int, num: int) -> np.ndarray:
    """`num` log-spaced integer k in [1, kmax], duplicates removed (as in the Monkeys fits)."""
    if kmax < 1:
        raise ValueError(f"log_ks: kmax must be >= 1, got {kmax}")
    return np.unique(np.round(np.logspace(0, np.log10(kmax), num)).astype(np.int64))


def coverage_table(merged: pd.DataFrame, ks=None, n_boot: int = N_BOOT, level: float = LEVEL,
                   seed: int = 0) -> pd.DataFrame:
    """Coverage with bootstrap CIs at each k (all k ≤ min n by default when n ≤ 1000, else 200 log-spaced k),
    pass^k (all k samples correct) and the mean attempts per problem under Reset-and-Discard (coverage@cost)."""
    pp = per_problem(merged)
    nmin = int(pp["n"].min())
    if ks is None:
        ks = np.arange(1, nmin + 1) if nmin <= 1000 else log_ks(nmin, 200)
    out = bootstrap_ci(pp["n"].to_numpy(), pp["c"].to_numpy(), ks, n_boot=n_boot, level=level, seed=seed)
    out["problems"] = len(pp)
    out["pass_hat_k"] = pass_hat_k(pp["n"].to_numpy(), pp["c"].to_numpy(), ks)
    out["attempts_discard"] = discard_attempts(pp["n"].to_numpy(), pp["c"].to_numpy(), ks)
    return out


def add_extraction_columns(table: pd.DataFrame, merged: pd.DataFrame) -> pd.DataFrame:
    """Where lenient extraction is on: `coverage_format`, the coverage when only answers found in the prompt's
    format count, and `fallback_share`, the share of correct verdicts whose answer came from the fallback."""
    from .contracts import require_columns
    require_columns(merged, ["extraction"], "merged table")
    fmt = merged.assign(correct=merged["correct"] & (merged["extraction"] == "format"))
    pp = per_problem(fmt)
    out = table.copy()
    out["coverage_format"] = coverage_from_counts(pp["n"].to_numpy(), pp["c"].to_numpy(), out["k"].to_numpy())
    correct = int(merged["correct"].sum())
    fallback = int((merged["correct"] & (merged["extraction"] == "fallback")).sum())
    out["fallback_share"] = fallback / correct if correct else 0.0
    return out


def plot_coverage(curve: pd.DataFrame, path: str, title: str) -> None:
    """Coverage against k on a log-x axis (the paper's Fig. 2 style)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    from . import io

    sns.set_theme(style="whitegrid")
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(curve["k"], curve["coverage"], marker="o", markersize=3, label="coverage")
    if {"ci_low", "ci_high"} <= set(curve.columns):
        ax.fill_between(curve["k"], curve["ci_low"], curve["ci_high"], alpha=0.2, linewidth=0, label="bootstrap CI")
    if "coverage_format" in curve.columns:
        share = float(curve["fallback_share"].iloc[0])
        ax.plot(curve["k"], curve["coverage_format"], linestyle="--", color="gray",
                label=f"answer in the prompt's format only ({share:.0%} of correct verdicts came from the fallback)")
        ax.legend(fontsize=6, loc="upper left")
    ax.set_xscale("log")
    ax.set_ylim(0, 1)
    ax.set_xlabel("number of samples k (log)")
    ax.set_ylabel("coverage (pass@k)")
    ax.set_title(title)
    io.write_png(fig, path, dpi=120)


def stop_times(merged: pd.DataFrame, s: int) -> tuple[np.ndarray, np.ndarray]:
    """Per problem: the 1-based index of its s-th correct sample in index order (n_i + 1 if never), and n_i."""
    from .contracts import require_columns

    require_columns(merged, ["problem_id", "sample_index", "correct"], "merged table")
    df = merged.sort_values(["problem_id", "sample_index"], kind="stable")
    order = df.groupby("problem_id", sort=True).cumcount().to_numpy() + 1  # position within the problem
    hits = df["correct"].astype(bool).to_numpy()
    rank = df.assign(_hit=hits).groupby("problem_id", sort=True)["_hit"].cumsum().to_numpy()
    at = pd.Series(np.where(hits & (rank == s), order, np.iinfo(np.int64).max), index=df["problem_id"].to_numpy())
    n = df.groupby("problem_id", sort=True).size()
    t = at.groupby(level=0, sort=True).min().reindex(n.index)
    t = np.where(t.to_numpy() == np.iinfo(np.int64).max, n.to_numpy() + 1, t.to_numpy())
    return t.astype(np.int64), n.to_numpy(dtype=np.int64)


def realized_coverage(merged: pd.DataFrame, ks) -> np.ndarray:
    """Coverage of an adaptive run at each k, read in index order: the share of problems whose first correct sample
    is among their first k. It is unbiased whatever the policy stopped, since a problem's first k samples do not
    depend on whether later ones were drawn. It is NaN where some problem has neither a success nor k samples.

    Chen et al.'s pass@k on (n_i, c_i) is not unbiased here: a problem that stopped has its success in its last
    shard by construction, so its pass@k for k < n_i is too high. The maximum-likelihood fits are unaffected (a
    stopping rule that depends only on observed outcomes leaves the likelihood unchanged)."""
    return _realized(*stop_times(merged, 1), ks)


def _realized(t: np.ndarray, n: np.ndarray, ks) -> np.ndarray:
    """realized_coverage from the first-success indices t and sample counts n (stop_times)."""
    ks = np.asarray(ks, dtype=np.int64).reshape(-1)
    known = (t[None, :] <= n[None, :]) | (n[None, :] >= ks[:, None])
    cov = (t[None, :] <= ks[:, None]).mean(axis=1)
    return np.where(known.all(axis=1), cov, np.nan)


def realized_table(merged: pd.DataFrame, ks=None, n_boot: int = N_BOOT, level: float = LEVEL,
                   seed: int = 0) -> pd.DataFrame:
    """coverage_table for an adaptive run (datasets.<d>.adaptive): coverage read in sample order (realized_coverage)
    with a bootstrap CI over problems, and Reset-and-Discard attempts as mean min(first success, k). k runs up to
    the smallest n among unsolved problems, where every problem's first k samples are known. pass^k is NaN: a run
    that stopped problems at their successes does not estimate it."""
    t, n = stop_times(merged, 1)
    unsolved = t > n
    kmax = int(n[unsolved].min()) if unsolved.any() else int(n.max())
    if ks is None:
        ks = np.arange(1, kmax + 1) if kmax <= 1000 else log_ks(kmax, 200)
    ks = np.asarray(ks, dtype=np.int64).reshape(-1)
    hit = (t[:, None] <= ks[None, :]).astype(float)                        # problems × k
    reps = problem_weights(np.arange(len(t)), len(t), n_boot, seed) @ hit / len(t)
    lo, hi = _percentile_ci(reps, level)
    point = _realized(t, n, ks)
    known = ~np.isnan(point)
    lo, hi = np.where(known, lo, np.nan), np.where(known, hi, np.nan)
    return pd.DataFrame({"k": ks, "coverage": point, "ci_low": lo, "ci_high": hi, "std": reps.std(axis=0, ddof=1),
                         "problems": len(t), "pass_hat_k": np.nan,
                         "attempts_discard": np.minimum(t[:, None], ks[None, :]).mean(axis=0)})


def write_coverage(merged_path: str, table_path: str, problems_path: str, plot_path: str, title: str,
                   n_boot: int = N_BOOT, level: float = LEVEL, seed: int = 0, lenient: bool = False,
                   adaptive: bool = False) -> pd.DataFrame:
    """The coverage stage: coverage with bootstrap CIs for every k, the per-problem n/c table, and the plot.
    With `lenient` (the dataset's lenient extraction), or when any verdict's answer came from a fallback, the
    table and plot also show format-only coverage and the fallback's share of correct verdicts."""
    from . import io
    from .contracts import require_columns

    merged = io.read_parquet(merged_path)
    require_columns(merged, ["problem_id", "correct"], f"merged table {merged_path}")
    if merged.empty:
        raise ValueError(f"merged table {merged_path} has no rows")
    estimate = realized_table if adaptive else coverage_table  # adaptive runs: pass@k on (n_i, c_i) is biased
    table = estimate(merged, n_boot=n_boot, level=level, seed=seed)
    if "extraction" in merged.columns and (lenient or (merged["extraction"] == "fallback").any()):
        table = add_extraction_columns(table, merged)
    io.write_csv(table, table_path)
    io.write_csv(problem_table(merged), problems_path)
    plot_coverage(table, plot_path, title)
    return table
