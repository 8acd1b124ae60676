"""The one vote module: picking one answer out of several samples, for the analysis (selection.py) and for test-time
search (search/strategies.py).

Methods (one set of names, used in configs and result tables):
- `majority`: the answer class with the most samples (majority vote / self-consistency; Brown et al. 2024,
  arXiv 2407.21787, §4.2; Wang et al. 2022);
- `best_of_n`: the single sample with the highest reward (Snell et al. 2024, arXiv 2408.03314, §5.1 "naive");
- `weighted`: the answer class with the largest sum of the *raw* rewards of its samples (Li et al. 2023; Snell
  §5.1; Monkeys App. D). Rewards are not shifted: with rewards (−0.10, −0.10, −0.15) on answers (A, A, B), B
  wins (−0.15 > −0.20). A NaN reward adds nothing to its class.
Samples without an answer (class −1) never vote; `majority` and `weighted` pick nothing when no sample in the
set has an answer (the analysis counts that as wrong; search falls back to sample 0 / to best_of_n).

Ties, one rule set by `ties`:
- "first": the tied class (or sample) that appears first in the given sample order. Deterministic; search uses it.
- "random": uniformly at random among the tied ones. The subset estimator of the analysis uses it, so an
  estimate does not depend on how classes happen to be numbered.
"""

from __future__ import annotations

import numpy as np

METHODS = ("majority", "best_of_n", "weighted")
TIES = ("first", "random")


def check(method: str | None = None, ties: str | None = None) -> None:
    if method is not None and method not in METHODS:
        raise ValueError(f"vote method {method!r} is not one of {', '.join(METHODS)}")
    if ties is not None and ties not in TIES:
        raise ValueError(f"vote ties {ties!r} is not one of {', '.join(TIES)}")


def winner(scores: np.ndarray, present: np.ndarray, priority: np.ndarray) -> np.ndarray:
    """Row-wise: the column with the largest score among the present ones; ties go to the largest priority.
    -1 for a row with nothing present. All three arrays are rows × columns."""
    if scores.shape[1] == 0:
        return np.full(len(scores), -1, dtype=np.int64)
    masked = np.where(present, scores, -np.inf)
    tied = present & (masked == masked.max(axis=1, keepdims=True))
    out = np.argmax(np.where(tied, priority, -np.inf), axis=1)
    out[~present.any(axis=1)] = -1
    return out


def tally(classes: np.ndarray, n_classes: int, weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per row of `classes` (rows × samples; −1 = no answer): (votes or weight sums per class, present mask),
    each rows × n_classes. One bincount over the flattened table, so ~linear in its size."""
    rows, k = classes.shape
    valid = classes >= 0
    flat = (np.arange(rows)[:, None] * n_classes + classes)[valid]
    count = np.bincount(flat, minlength=rows * n_classes).reshape(rows, n_classes)
    if weights is None:
        return count.astype(np.float64), count > 0
    w = np.nan_to_num(np.asarray(weights, dtype=np.float64), nan=0.0)[valid]
    return np.bincount(flat, weights=w, minlength=rows * n_classes).reshape(rows, n_classes), count > 0


def first_position(classes: np.ndarray, n_classes: int) -> np.ndarray:
    """rows × n_classes: position of each class's first sample in the row (k where absent)."""
    rows, k = classes.shape
    pos = np.full((rows, n_classes), k, dtype=np.int64)
    r, c = np.nonzero(classes[:, ::-1] >= 0)
    cols = k - 1 - c
    pos[r, classes[r, cols]] = cols  # written from the last sample to the first: the first one stays
    return pos


def class_priority(classes: np.ndarray, n_classes: int, ties: str, rng: np.random.Generator | None = None):
    """Tie-break priority per (row, class): earlier first appearance for "first", uniform random for "random"."""
    check(ties=ties)
    if ties == "first":
        return -first_position(classes, n_classes).astype(np.float64)
    rng = rng if rng is not None else np.random.default_rng()
    return rng.random((classes.shape[0], n_classes))


def vote_classes(method: str, classes: np.ndarray, n_classes: int, rewards: np.ndarray | None = None,
                 ties: str = "first", rng: np.random.Generator | None = None,
                 priority: np.ndarray | None = None) -> np.ndarray:
    """The winning class per row for `majority` or `weighted` (rows × samples in, one class id or −1 per row)."""
    check(method, ties)
    if method == "best_of_n":
        raise ValueError("vote_classes: best_of_n picks a sample, not a class (use best_sample)")
    classes = np.atleast_2d(classes)
    if method == "weighted" and rewards is None:
        raise ValueError("vote: weighted needs rewards")
    scores, present = tally(classes, n_classes, np.atleast_2d(rewards) if method == "weighted" else None)
    if priority is None:
        priority = class_priority(classes, n_classes, ties, rng)
    return winner(scores, present, priority)


def best_sample(rewards: np.ndarray, ties: str = "first", rng: np.random.Generator | None = None) -> np.ndarray:
    """best_of_n per row: index of the highest reward (NaN never wins unless all are NaN: then index 0)."""
    check(ties=ties)
    r = np.atleast_2d(np.asarray(rewards, dtype=np.float64))
    r = np.where(np.isnan(r), -np.inf, r)
    if ties == "first":
        return np.argmax(r, axis=1)
    rng = rng if rng is not None else np.random.default_rng()
    tied = r == r.max(axis=1, keepdims=True)
    return np.argmax(np.where(tied, rng.random(r.shape), -1.0), axis=1)


def pick(method: str, classes, rewards=None, ties: str = "first", rng: np.random.Generator | None = None) -> int:
    """One sample's index for one set of samples (search's final answer).

    majority: the first sample of the winning class (sample 0 when none answered); weighted: the winning class's
    highest-reward member (best_of_n when none answered); best_of_n: the highest reward."""
    check(method, ties)
    if method == "best_of_n":
        return int(best_sample(rewards, ties, rng)[0])
    classes = np.asarray(classes, dtype=np.int64)
    if not (classes >= 0).any():
        return 0 if method == "majority" else int(best_sample(rewards, ties, rng)[0])
    # renumber the classes present so the tally is as wide as this set, not as the problem
    uniq, local = np.unique(classes[classes >= 0], return_inverse=True)
    cls = np.full(len(classes), -1, dtype=np.int64)
    cls[classes >= 0] = local
    c = int(vote_classes(method, cls[None, :], len(uniq), None if rewards is None else np.asarray(rewards)[None, :],
                         ties, rng)[0])
    members = np.flatnonzero(cls == c)
    if method == "majority":
        return int(members[0])
    return int(members[best_sample(np.asarray(rewards, dtype=np.float64)[members], ties, rng)[0]])
