"""Adaptive sampling, simulated on stored samples in index order (issue 15, item 4: the measurement part).

Reset-and-Discard (Meir et al. 2026, arXiv 2601.21522) stops sampling a problem once it is solved `s` times.
Giving each round's samples only to the problems still unsolved (the budget moves to the hardest problems, as
in Kazdan et al. 2025, arXiv 2510.05197) spends, for coverage, exactly what stopping at the first success spends,
so both are the policy `discard` with s = 1. Coverage at a per-problem cap k does not change when problems stop
early (a problem counts as solved once it has one success), only the samples spent do.

Each problem's outcomes are read in sample_index order, as they would have been drawn. For every cap k the table
gives, per policy, the samples spent in total and the coverage; `saving` is the share of uniform sampling's
samples (P·k) that the policy did not need for the same coverage.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import io
from .contracts import ContractError, require_columns
from .coverage import log_ks

SOLVED = (1,)
COLUMNS = ["policy", "solved_stop", "k", "problems", "coverage", "samples_spent", "uniform_samples", "saving"]


def stop_times(merged: pd.DataFrame, s: int) -> tuple[np.ndarray, np.ndarray]:
    """Per problem: the 1-based index of its s-th correct sample in index order (n_i + 1 if never), and n_i."""
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


def simulate(merged: pd.DataFrame, solved=SOLVED, ks=None) -> pd.DataFrame:
    """Uniform vs stop-after-s-successes on the stored samples, at each per-problem cap k ≤ min n."""
    if merged.empty:
        raise ContractError("adaptive: the merged table has no rows")
    first, n = stop_times(merged, 1)
    kmax = int(n.min())
    ks = np.asarray(log_ks(kmax, 40) if ks is None else [k for k in ks if k <= kmax], dtype=np.int64)
    P = len(n)
    cov = (first[None, :] <= ks[:, None]).mean(axis=1)
    rows = [pd.DataFrame({"policy": "uniform", "solved_stop": 0, "k": ks, "coverage": cov,
                          "samples_spent": P * ks})]
    for s in solved:
        t, _ = stop_times(merged, int(s)) if s != 1 else (first, n)
        spent = np.minimum(t[None, :], ks[:, None]).sum(axis=1)
        rows.append(pd.DataFrame({"policy": "discard", "solved_stop": int(s), "k": ks, "coverage": cov,
                                  "samples_spent": spent}))
    out = pd.concat(rows, ignore_index=True)
    out["problems"] = P
    out["uniform_samples"] = P * out["k"]
    out["saving"] = 1.0 - out["samples_spent"] / out["uniform_samples"]
    return out[COLUMNS]


def write_adaptive(merged_path, out_csv, solved=SOLVED) -> pd.DataFrame:
    """The adaptive stage: merged samples in, the simulated policies table out."""
    t = simulate(io.read_parquet(merged_path, columns=["problem_id", "sample_index", "correct"]), solved=solved)
    io.write_csv(t, out_csv)
    return t
