"""Verifier ensembles and how good each verifier is (Saad-Falcon et al. 2025, Weaver, arXiv 2506.18203).

- `normalise`: each verifier's scores made comparable within a problem, by rank (0..1) or z-score.
- `mean_ensemble`: the mean of the normalised scores of all verifiers.
- `weak_supervision`: an ensemble that uses no labels. Each verifier's score is binarised at its mean
  (v ∈ {−1, +1}); if verifiers err independently given the truth y, E[v_i v_j] = a_i a_j with a_i = E[v_i y], so
  |a_i| = sqrt(E[v_i v_j] E[v_i v_k] / E[v_j v_k]) for two others j, k (median over the pairs with
  |E[v_j v_k]| ≥ 0.1) (the triplet method of weak
  supervision, Fu et al. 2020, arXiv 2002.11955, which Weaver builds on). Accuracy P(v_i = y) = (1 + a_i)/2
  gives the weight log(acc / (1 − acc)), and the ensemble score is Σ_i w_i v_i (a log-odds). With fewer than
  three verifiers the accuracies cannot be identified and all weights are 1.
- `verifier_metrics`: TPR, FPR (accept = above the verifier's mean score, the threshold the ensemble uses) and AUROC of each verifier against infscale's own
  verdicts (`correct`).
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

NORMS = ("rank", "z")


def normalise(scores: pd.Series, groups: pd.Series, how: str = "rank") -> pd.Series:
    """Per problem (`groups`): rank scaled to [0, 1] (ties averaged) or z-score (0 where a problem's scores are
    constant). NaN stays NaN."""
    if how not in NORMS:
        raise ValueError(f"ensemble normalisation {how!r} is not one of {', '.join(NORMS)}")
    g = scores.groupby(groups)
    if how == "rank":
        r = g.rank(method="average")
        n = g.transform("count")
        return ((r - 1) / (n - 1).where(n > 1, 1)).where(scores.notna())
    mu, sd = g.transform("mean"), g.transform("std", ddof=0)
    return ((scores - mu) / sd.where(sd > 0, 1)).where(scores.notna())


def mean_ensemble(merged: pd.DataFrame, columns: list[str], how: str = "rank") -> pd.Series:
    """Mean over the verifier columns of their per-problem normalised scores."""
    norm = pd.concat([normalise(merged[c], merged["problem_id"], how) for c in columns], axis=1)
    return norm.mean(axis=1)


def _signs(merged: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """samples × verifiers in {−1, 0, +1}: above / at or below the verifier's mean score (0 for NaN)."""
    out = np.zeros((len(merged), len(columns)))
    for j, c in enumerate(columns):
        x = merged[c].to_numpy(np.float64)
        med = np.nanmean(x) if np.isfinite(x).any() else 0.0
        out[:, j] = np.where(np.isnan(x), 0.0, np.where(x > med, 1.0, -1.0))
    return out


def weak_supervision_accuracies(merged: pd.DataFrame, columns: list[str]) -> dict[str, float]:
    """Estimated P(verifier agrees with the truth) per verifier, from agreements only (no labels)."""
    v = _signs(merged, columns)
    m = len(columns)
    if m < 3:
        return {c: float("nan") for c in columns}
    cov = (v.T @ v) / max(len(v), 1)
    acc = {}
    for i, c in enumerate(columns):
        pairs = list(itertools.combinations([x for x in range(m) if x != i], 2))
        # a pair of near-random verifiers (E[v_j v_k] ≈ 0) makes the ratio explode: use the well-conditioned pairs
        good = [(j, k) for j, k in pairs if abs(cov[j, k]) >= 0.1] or [max(pairs, key=lambda p: abs(cov[p]))]
        est = [np.sqrt(abs(cov[i, j] * cov[i, k] / cov[j, k])) for j, k in good if abs(cov[j, k]) > 1e-9]
        a = float(np.clip(np.median(est), 0.0, 0.999)) if est else 0.0
        acc[c] = (1.0 + a) / 2.0
    return acc


def weak_supervision(merged: pd.DataFrame, columns: list[str]) -> pd.Series:
    """Label-free ensemble score: Σ_i log(acc_i / (1 − acc_i)) · v_i (equal weights below three verifiers)."""
    acc = weak_supervision_accuracies(merged, columns)
    w = np.array([np.log(a / (1 - a)) if np.isfinite(a) and 0.5 < a < 1 else (1.0 if not np.isfinite(a) else 0.0)
                  for a in (acc[c] for c in columns)])
    return pd.Series(_signs(merged, columns) @ w, index=merged.index)


def auroc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve (Mann–Whitney U / (n₊ n₋), ties count half); NaN with one class only."""
    from scipy.stats import rankdata

    ok = ~np.isnan(scores)
    s, y = scores[ok], labels[ok].astype(bool)
    npos, nneg = int(y.sum()), int((~y).sum())
    if npos == 0 or nneg == 0:
        return float("nan")
    r = rankdata(s)
    return float((r[y].sum() - npos * (npos + 1) / 2) / (npos * nneg))


def verifier_metrics(merged: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    """One row per verifier (name → column): TPR and FPR with "accept" = score above the verifier's mean, and
    AUROC, all against `correct`."""
    y = merged["correct"].to_numpy(bool)
    rows = []
    if not columns:
        return pd.DataFrame(columns=["verifier", "tpr", "fpr", "auroc", "samples"])
    for name, c in columns.items():
        x = merged[c].to_numpy(np.float64)
        med = np.nanmean(x) if np.isfinite(x).any() else 0.0
        acc = x > med
        rows.append({"verifier": name, "tpr": float(acc[y].mean()) if y.any() else float("nan"),
                     "fpr": float(acc[~y].mean()) if (~y).any() else float("nan"), "auroc": auroc(x, y),
                     "samples": int(np.isfinite(x).sum())})
    return pd.DataFrame(rows)
