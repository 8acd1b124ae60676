"""Adaptive sampling (issue 15, item 4): the live policy that plans each next shard, and its simulation on stored
samples in index order.

The live policy (datasets.<d>.adaptive, opt-in) is next_shard / plan_from_tally, called by the adaptive_shard
checkpoint after every shard; replay runs the same decision on stored outcomes. The simulation below predates it:

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
from .coverage import log_ks, realized_coverage, stop_times  # noqa: F401 (re-exported)

SOLVED = (1,)
COLUMNS = ["policy", "solved_stop", "k", "problems", "coverage", "samples_spent", "uniform_samples", "saving"]


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


# ---- the live policy (datasets.<d>.adaptive): which problems the next shard samples ----
POLICIES = ("reset_discard", "hardest")
PLAN_COLUMNS = ["problem_id", "start", "stop"]


def tally(problem_ids, verdicts: pd.DataFrame) -> pd.DataFrame:
    """Per problem (in the problems table's order): n, the samples drawn so far, and c, the correct ones.

    A problem's samples are its indices 0 … n−1, whichever policy drew them; a gap means a lost shard."""
    require_columns(verdicts, ["problem_id", "sample_index", "correct"], "verdicts")
    g = verdicts.groupby("problem_id")
    t = pd.DataFrame({"n": g.size(), "c": g["correct"].sum(), "top": g["sample_index"].max() + 1})
    unknown = t.index.difference(pd.Index(problem_ids))
    if len(unknown):
        raise ContractError(f"adaptive: verdicts name problem(s) not in the problems table: {', '.join(map(str, unknown[:3]))}")
    if (t["n"] != t["top"]).any():
        bad = t.index[t["n"] != t["top"]][0]
        raise ContractError(f"adaptive: problem {bad} has {t.loc[bad, 'n']} verdicts but indices up to "
                            f"{t.loc[bad, 'top'] - 1}: its samples are not 0 … n−1")
    t = t.reindex(pd.Index(problem_ids, name="problem_id"), fill_value=0)
    return t[["n", "c"]].astype(np.int64).reset_index()


def next_shard(problem_ids, verdicts: pd.DataFrame, *, policy: str, solved: int,
               samples_per_shard: int) -> pd.DataFrame:
    """The next shard's plan: for each chosen problem, the sample indices [start, stop) it gets.

    With no verdicts yet (shard 0) every problem gets S samples. After that only the problems solved fewer than
    `solved` times continue, from their next unused index:
    - reset_discard (Meir et al. 2026, arXiv 2601.21522): S samples each, so solved problems cost nothing more;
    - hardest (Kazdan et al. 2025, arXiv 2510.05197): the uniform shard's budget P·S is split over them, the
      remainder one each to the ones with the fewest successes (then the fewest samples, then table order).
    An empty plan means every problem is done, and no later shard is scheduled.
    """
    return plan_from_tally(tally(problem_ids, verdicts), policy=policy, solved=solved,
                           samples_per_shard=samples_per_shard)


def plan_from_tally(t: pd.DataFrame, *, policy: str, solved: int, samples_per_shard: int) -> pd.DataFrame:
    """next_shard's decision from the per-problem tally (problem_id, n, c), shared by the live checkpoint and the
    replay on stored samples."""
    if policy not in POLICIES:
        raise ContractError(f"adaptive: unknown policy {policy!r} (one of {', '.join(POLICIES)})")
    S = int(samples_per_shard)
    if not t["n"].any():
        return pd.DataFrame({"problem_id": t["problem_id"], "start": 0, "stop": S})[PLAN_COLUMNS]
    open_ = t[t["c"] < int(solved)].copy()
    if policy == "reset_discard" or open_.empty:
        each = np.full(len(open_), S, dtype=np.int64)
    else:
        open_["order"] = np.arange(len(open_))
        open_ = open_.sort_values(["c", "n", "order"], kind="stable")
        budget = len(t) * S
        each = np.full(len(open_), budget // len(open_), dtype=np.int64)
        each[: budget % len(open_)] += 1
        open_ = open_.assign(each=each).sort_values("order")
        each = open_["each"].to_numpy()
    plan = pd.DataFrame({"problem_id": open_["problem_id"].to_numpy(), "start": open_["n"].to_numpy(),
                         "stop": open_["n"].to_numpy() + each})
    return plan[plan["stop"] > plan["start"]].reset_index(drop=True)[PLAN_COLUMNS]


def read_plan(path) -> pd.DataFrame:
    """A plan written by write_next_shard."""
    plan = pd.read_csv(path, dtype={"problem_id": str})
    require_columns(plan, PLAN_COLUMNS, f"adaptive plan {path}")
    return plan


def write_next_shard(problems_path, verdict_paths, out_csv, *, samples_per_shard: int, policy: str,
                     solved: int = 1) -> pd.DataFrame:
    """The adaptive_shard checkpoint: the problems and the verdicts of every earlier shard in, the plan out."""
    ids = io.read_parquet(problems_path, columns=["problem_id"])["problem_id"].tolist()
    cols = ["problem_id", "sample_index", "correct"]
    parts = [io.read_parquet(p, columns=cols) for p in verdict_paths]
    verdicts = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)
    plan = next_shard(ids, verdicts, policy=policy, solved=solved, samples_per_shard=samples_per_shard)
    io.write_csv(plan, out_csv)
    return plan


# ---- measuring the live policy: its progress shard by shard, and uniform sampling's spend for the same coverage ----
def progress(merged: pd.DataFrame) -> pd.DataFrame:
    """After each shard of a run: samples spent so far, problems sampled in that shard, coverage so far (the share
    of problems with a correct sample)."""
    require_columns(merged, ["problem_id", "shard", "correct"], "merged table")
    P = merged["problem_id"].nunique()
    rows, solved = [], set()
    spent = 0
    for shard, g in merged.groupby("shard", sort=True):
        spent += len(g)
        solved |= set(g.loc[g["correct"].astype(bool), "problem_id"])
        rows.append({"shard": int(shard), "problems_sampled": g["problem_id"].nunique(), "samples_spent": spent,
                     "coverage": len(solved) / P})
    return pd.DataFrame(rows)


def outcomes_matrix(merged: pd.DataFrame) -> tuple[list, np.ndarray]:
    """(problem ids, problems × n bool matrix of `correct` in sample_index order); every problem needs the same n."""
    require_columns(merged, ["problem_id", "sample_index", "correct"], "merged table")
    df = merged.sort_values(["problem_id", "sample_index"], kind="stable")
    n = df.groupby("problem_id", sort=True).size()
    if n.nunique() != 1:
        raise ContractError("adaptive: replaying needs the same number of stored samples for every problem")
    return n.index.tolist(), df["correct"].astype(bool).to_numpy().reshape(len(n), int(n.iloc[0]))


def replay(ids, outcomes: np.ndarray, *, policy: str, solved: int, samples_per_shard: int,
           shards: int) -> pd.DataFrame:
    """The live policy (plan_from_tally) run on stored outcomes in index order: each plan's samples are the
    stored ones at those indices. A plan asking beyond the stored samples is cut there (`truncated`), and the
    replay ends when a plan would draw nothing new."""
    P, N = outcomes.shape
    cum = np.concatenate([np.zeros((P, 1), np.int64), np.cumsum(outcomes, axis=1)], axis=1)  # cum[i, n] = c_i
    n = np.zeros(P, np.int64)
    rows = []
    for shard in range(shards):
        t = pd.DataFrame({"problem_id": ids, "n": n, "c": cum[np.arange(P), n]})
        plan = plan_from_tally(t, policy=policy, solved=solved, samples_per_shard=samples_per_shard)
        if plan.empty:
            break
        pos = pd.Index(ids).get_indexer(plan["problem_id"])
        stop = plan["stop"].to_numpy()
        truncated = bool((stop > N).any())
        if (np.minimum(stop, N) <= n[pos]).all():  # the stored samples ran out before the policy stopped
            rows[-1]["truncated"] = True
            break
        n[pos] = np.minimum(stop, N)
        rows.append({"shard": shard, "problems_sampled": len(plan), "samples_spent": int(n.sum()),
                     "coverage": float((cum[np.arange(P), n] > 0).mean()), "truncated": truncated})
    return pd.DataFrame(rows)


def versus_uniform(steps: pd.DataFrame, uniform_outcomes: np.ndarray) -> pd.DataFrame:
    """Beside each step of an adaptive run, what uniform sampling of the same stored samples (every problem its
    first k, in index order) spends to reach the same coverage: P × the smallest k that does (NaN if none)."""
    P, N = uniform_outcomes.shape
    first = np.where(uniform_outcomes.any(axis=1), uniform_outcomes.argmax(axis=1) + 1, N + 1)
    cov_k = np.array([(first <= k).mean() for k in range(1, N + 1)])
    need = [int(np.searchsorted(cov_k, c - 1e-12) + 1) if c <= cov_k[-1] + 1e-12 else np.nan
            for c in steps["coverage"]]
    out = steps.copy()
    out["uniform_samples"] = [P * k if k == k else np.nan for k in need]
    out["saving"] = 1.0 - out["samples_spent"] / out["uniform_samples"]
    return out
