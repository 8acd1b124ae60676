"""Selecting one answer out of k samples (Brown et al. 2024, arXiv 2407.21787, §4.2, Fig. 7).

Methods (infscale.vote), each scored as the share of problems whose selected answer is correct:
- `majority` vote over the extracted answers, grouped by mathematical equivalence (infscale.answers: the classes
  of pairwise math-verify grouping, in about linear time);
- per reward column (`reward`, or `reward_<verifier>` from the score stage): `best_of_n` (highest reward) and
  `weighted` vote (class with the largest sum of raw rewards); the output's `verifier` column names it;
- with two or more reward columns, the same two methods on verifier ensembles (infscale.ensemble, Weaver,
  arXiv 2506.18203): `ensemble_rank` / `ensemble_z` (mean of per-problem normalised scores) and
  `ensemble_weak` (label-free weak-supervision weights);
- `oracle`: correct if any of the k samples is correct; its expectation is coverage (pass@k).
Together, oracle vs the selectors at each k is the generation–verification gap.
A class counts as correct when most of its samples are (equivalent answers share one verdict).

For each k we draw `trials` (default 100) random subsets of size k per problem — not the first k samples — and
report the mean, std and the 2.5/97.5 percentiles (`lo`, `hi`) over trials of the accuracy over problems. The
subsets of one trial are the prefixes of one random permutation of the problem's samples, so all k share the
draws (each k alone is still a uniform random subset). Ties are broken at random (vote ties="random").
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import ensemble, vote
from .answers import EquivalenceCache, answer_classes
from .contracts import require_columns

__all__ = ["EquivalenceCache", "answer_classes", "reward_columns", "selection_curve", "problem_trials"]


def reward_columns(merged: pd.DataFrame) -> dict[str, str]:
    """verifier name → reward column: `reward_<verifier>` columns, and a plain `reward` column as "reward"."""
    cols = {}
    for c in merged.columns:
        if c == "reward" or c.startswith("reward_"):
            if merged[c].notna().any():
                cols[c[len("reward_"):] if c.startswith("reward_") else "reward"] = c
    return cols


def _permutations(n: int, trials: int, kmax: int, rng: np.random.Generator) -> np.ndarray:
    """trials × kmax: the first kmax entries of `trials` independent random permutations of range(n)."""
    if kmax * 4 < n:  # a short prefix: random keys, keep the kmax smallest (argpartition), order them
        keys = rng.random((trials, n))
        idx = np.argpartition(keys, kmax - 1, axis=1)[:, :kmax]
        order = np.argsort(np.take_along_axis(keys, idx, axis=1), axis=1)
        return np.take_along_axis(idx, order, axis=1)
    return rng.permuted(np.broadcast_to(np.arange(n, dtype=np.int64), (trials, n)), axis=1)[:, :kmax]


def problem_trials(classes: np.ndarray, correct: np.ndarray, rewards: dict[str, np.ndarray], ks, trials: int,
                   rng: np.random.Generator, ties: str = "random") -> dict[tuple[str, str, int], np.ndarray]:
    """Per (method, verifier, k): correct (0/1) per trial on one problem."""
    n = len(correct)
    ks = [int(k) for k in ks]
    perm = _permutations(n, trials, max(ks), rng)
    n_cls = int(classes.max()) + 1 if (classes >= 0).any() else 0
    valid = classes >= 0
    size = np.bincount(classes[valid], minlength=n_cls)
    good = np.bincount(classes[valid], weights=correct[valid].astype(float), minlength=n_cls)
    cls_correct = np.r_[good > 0.5 * size, False]  # index -1 (no pick) → False
    corr = correct[perm]
    first_correct = np.where(corr.any(axis=1), np.argmax(corr, axis=1), n + 1)
    cls = classes[perm]
    prio = rng.random((trials, n_cls)) if ties == "random" else None
    rew = {v: r[perm] for v, r in rewards.items()}
    rows = np.arange(trials)
    out = {}
    for k in ks:
        out[("oracle", "", k)] = (first_correct < k).astype(float)
        c = cls[:, :k]
        pick = vote.vote_classes("majority", c, n_cls, ties=ties, rng=rng, priority=prio)
        out[("majority", "", k)] = cls_correct[pick].astype(float)
        for v, r in rew.items():
            best = vote.best_sample(r[:, :k], ties, rng)
            out[("best_of_n", v, k)] = corr[rows, best].astype(float)
            wpick = vote.vote_classes("weighted", c, n_cls, r[:, :k], ties=ties, rng=rng, priority=prio)
            out[("weighted", v, k)] = cls_correct[wpick].astype(float)
    return out


def selection_curve(merged: pd.DataFrame, ks, trials: int = 100, seed: int = 0,
                    cache: EquivalenceCache | None = None, ties: str = "random") -> pd.DataFrame:
    """Accuracy of each selection method at each k over `trials` random subsets of size k.

    Output columns: k, method, verifier ("" for oracle and majority), mean, std, lo, hi, trials. k larger than a
    problem's sample count is an error."""
    require_columns(merged, ["problem_id", "sample_index", "correct", "extracted"], "merged table")
    vote.check(ties=ties)
    rcols = reward_columns(merged)
    cache = cache or EquivalenceCache()
    rng = np.random.default_rng(seed)
    m = merged.sort_values(["problem_id", "sample_index"], kind="stable")
    sizes = m.groupby("problem_id", sort=True).size()
    nmin = int(sizes.min())
    ks = [int(k) for k in ks]
    for k in ks:
        if not 1 <= k <= nmin:
            raise ValueError(f"selection: k={k} is outside 1..{nmin} (the smallest per-problem sample count)")
    if len(rcols) >= 2:
        cols = list(rcols.values())
        m = m.assign(_ens_rank=ensemble.mean_ensemble(m, cols, "rank"), _ens_z=ensemble.mean_ensemble(m, cols, "z"),
                     _ens_weak=ensemble.weak_supervision(m, cols))
        rcols = {**rcols, "ensemble_rank": "_ens_rank", "ensemble_z": "_ens_z", "ensemble_weak": "_ens_weak"}
    acc: dict[tuple[str, str, int], np.ndarray] = {}
    for _, g in m.groupby("problem_id", sort=True):
        classes = answer_classes(g["extracted"].tolist(), cache)
        rewards = {v: g[c].to_numpy(np.float64) for v, c in rcols.items()}
        for key, v in problem_trials(classes, g["correct"].to_numpy(bool), rewards, ks, trials, rng, ties).items():
            acc[key] = acc.get(key, 0.0) + v
    rows = []
    for (method, verifier, k), v in acc.items():
        v = v / len(sizes)
        rows.append({"k": k, "method": method, "verifier": verifier, "mean": float(v.mean()),
                     "std": float(v.std(ddof=1)) if trials > 1 else 0.0, "lo": float(np.percentile(v, 2.5)),
                     "hi": float(np.percentile(v, 97.5)), "trials": trials})
    return pd.DataFrame(rows).sort_values(["method", "verifier", "k"], ignore_index=True)


def gap_table(curve: pd.DataFrame) -> pd.DataFrame:
    """The generation–verification gap from a selection_curve table: one row per k with coverage (the oracle), each
    selector's accuracy (columns `method` or `method:verifier`) and `gap` = coverage − the best selector."""
    c = curve.assign(name=[m if not v else f"{m}:{v}" for m, v in zip(curve["method"], curve["verifier"])])
    wide = c.pivot_table(index="k", columns="name", values="mean").sort_index()
    wide = wide.rename(columns={"oracle": "coverage"})
    sel = [x for x in wide.columns if x != "coverage"]
    wide["best_selector"] = wide[sel].idxmax(axis=1) if sel else ""
    wide["gap"] = wide["coverage"] - (wide[sel].max(axis=1) if sel else 0.0)
    return wide.reset_index().rename_axis(columns=None)


def run(merged_path, out_csv, ks=None, trials: int = 100, seed: int = 0, out_gap=None,
        out_verifiers=None) -> pd.DataFrame:
    """The selection rule: the selection curve (selection_curve); optionally the generation–verification gap table
    and each reward column's TPR / FPR / AUROC against the verdicts (ensemble.verifier_metrics)."""
    from . import io
    from .coverage import log_ks

    m = io.read_merged(merged_path)
    require_columns(m, ["extracted"], f"merged table {merged_path}")
    nmin = int(m.groupby("problem_id").size().min())
    ks = [k for k in (ks or log_ks(nmin, 12).tolist()) if k <= nmin]
    t = selection_curve(m, ks, trials=trials, seed=seed)
    if out_gap is not None:
        io.write_csv(gap_table(t), out_gap)
    if out_verifiers is not None:
        io.write_csv(ensemble.verifier_metrics(m, reward_columns(m)), out_verifiers)
    io.write_csv(t, out_csv)
    return t
