"""Benchmark: answer grouping and the selection rule at paper shape (10⁴ samples per problem), against the pairwise
grouping and the previous per-k trial loop, both timed in this script.

1. Grouping, one problem, 10⁴ samples with 5,000 distinct answers (bench/synth_answers.py). infscale:
   answers.answer_classes (bucket keys, math-verify within a bucket). Baseline: answers.pairwise_classes (each new
   distinct answer against every class so far). The baseline is quadratic, so it is timed on the first 200 and
   400 distinct answers and extrapolated as c·m² to 5,000 (said in the output); both groupings must give the same
   classes on those subsets. Goal: ≤ 5 s.
2. The selection rule's work (selection.selection_curve: grouping + majority, best-of-N and weighted vote for one
   reward column + oracle, 100 trials, the rule's default 12 log-spaced k up to 10⁴) on 128 problems × 10⁴
   samples with a few frequent answers and a long tail. Baseline: the previous trial loop (a fresh argsort of
   trials × n random numbers per k, np.add.at tallies) timed on BASE_PROBLEMS problems and scaled to 128, plus
   the pairwise grouping of each problem estimated as c·m² (m = its distinct answers, c from part 1; timing it
   would take hours). Goal: ≤ 60 s.
Writes results/bench/selection.json and prints one line per part. Run with `nice`; ~2–4 min.
"""
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
import synth_answers  # noqa: E402

from infscale import answers, io, selection  # noqa: E402
from infscale.coverage import log_ks  # noqa: E402

N, DISTINCT, PROBLEMS, TRIALS, BASE_PROBLEMS = 10_000, 5_000, 128, 100, 2
SUBSETS = (150, 300)


def _old_trials(classes, correct, reward, k, trials, rng):
    """The per-k trial loop selection.py had before the vote module (kept here as the baseline)."""
    n = len(correct)
    subsets = np.argsort(rng.random((trials, n)), axis=1)[:, :k]
    corr = correct[subsets]
    out = {"oracle": corr.any(axis=1).astype(float)}
    cls = classes[subsets]
    n_cls = int(classes.max()) + 1 if (classes >= 0).any() else 0
    cls_correct = np.zeros(max(n_cls, 1), dtype=bool)
    for j in range(n_cls):
        cls_correct[j] = correct[classes == j].mean() > 0.5
    votes = np.zeros((trials, max(n_cls, 1)))
    rows = np.repeat(np.arange(trials), k)
    valid = cls.reshape(-1) >= 0
    np.add.at(votes, (rows[valid], cls.reshape(-1)[valid]), 1.0)
    out["majority"] = votes.argmax(axis=1)
    r = reward[subsets]
    out["best_of_n"] = corr[np.arange(trials), np.argmax(r, axis=1)]
    wvotes = np.zeros_like(votes)
    np.add.at(wvotes, (rows[valid], cls.reshape(-1)[valid]), r.reshape(-1)[valid])
    out["weighted"] = wvotes.argmax(axis=1)
    return out


def grouping(rng) -> dict:
    ans = synth_answers.one_problem(rng, N, DISTINCT)
    stats = {}
    t0 = time.perf_counter()
    answers.answer_classes(ans, answers.EquivalenceCache(), stats)
    t_fast = time.perf_counter() - t0
    distinct = list(dict.fromkeys(ans))
    base = {}
    for m in SUBSETS:
        sub = distinct[:m]
        t0 = time.perf_counter()
        pw = answers.pairwise_classes(sub, answers.EquivalenceCache())
        base[m] = time.perf_counter() - t0
        assert (answers.answer_classes(sub, answers.EquivalenceCache()) == pw).all(), f"classes differ on {m}"
    m = max(SUBSETS)
    t_base = base[m] * (DISTINCT / m) ** 2
    res = {"pairwise_s_per_distinct_squared": base[m] / m ** 2, "samples": N, "distinct": stats["distinct"], "classes": stats["classes"],
           "candidate_checks": stats["candidates"], "infscale_s": t_fast,
           "pairwise_subset_s": {str(k): v for k, v in base.items()},
           "pairwise_s_extrapolated": t_base, "ratio": t_base / t_fast, "goal_s": 5.0}
    print(f"grouping 1x1e4 samples, {stats['distinct']} distinct -> {stats['classes']} classes: infscale "
          f"{t_fast:.2f}s (goal <=5s) vs pairwise ~{t_base:.0f}s (timed {base[m]:.1f}s on {m} distinct, x(m)^2) "
          f"-> {res['ratio']:.0f}x")
    return res


def rule(rng, per_pair: float) -> dict:
    tail = synth_answers.pool(rng, 20_000)
    probs = synth_answers.problems(rng, PROBLEMS, N, tail)
    frames = []
    for pid, ans, right, _ in probs:
        reward = 0.3 * right + rng.normal(0, 0.3, N) - 0.2  # a noisy verifier; negative rewards included
        frames.append(pd.DataFrame({"problem_id": pid, "sample_index": np.arange(N), "extracted": ans,
                                    "correct": right, "reward": reward}))
    merged = pd.concat(frames, ignore_index=True)
    ks = log_ks(N, 12).tolist()
    t0 = time.perf_counter()
    out = selection.selection_curve(merged, ks, trials=TRIALS, seed=0)
    t_fast = time.perf_counter() - t0
    # baseline: the old trial loop timed on BASE_PROBLEMS problems (with the same classes), plus the pairwise
    # grouping's cost per problem from part 1's quadratic fit (timing it here would take hours)
    distinct = merged.groupby("problem_id")["extracted"].nunique()
    t_pairwise = float((per_pair * distinct.to_numpy(np.float64) ** 2).sum())
    cache = answers.EquivalenceCache()
    brng = np.random.default_rng(1)
    t_base_sub = 0.0
    for pid, g in list(merged.groupby("problem_id", sort=True))[:BASE_PROBLEMS]:
        classes = answers.answer_classes(g["extracted"].tolist(), cache)
        t0 = time.perf_counter()
        for k in ks:
            _old_trials(classes, g["correct"].to_numpy(bool), g["reward"].to_numpy(), k, TRIALS, brng)
        t_base_sub += time.perf_counter() - t0
    t_base = t_base_sub * PROBLEMS / BASE_PROBLEMS + t_pairwise
    maj = out[(out.method == "majority") & (out.k == N)]["mean"].iloc[0]
    orc = out[(out.method == "oracle") & (out.k == N)]["mean"].iloc[0]
    res = {"problems": PROBLEMS, "samples_per_problem": N, "ks": ks, "trials": TRIALS,
           "distinct_per_problem_mean": float(distinct.mean()), "distinct_per_problem_max": int(distinct.max()),
           "infscale_s": t_fast, "baseline_problems_timed": BASE_PROBLEMS, "baseline_subset_s": t_base_sub,
           "baseline_pairwise_grouping_s_extrapolated": t_pairwise, "baseline_s_extrapolated": t_base,
           "ratio": t_base / t_fast, "goal_s": 60.0,
           "majority_at_1e4": float(maj), "oracle_at_1e4": float(orc)}
    print(f"selection rule 128x1e4 ({distinct.mean():.0f} distinct answers/problem, {len(ks)} k, {TRIALS} trials, "
          f"1 reward): infscale {t_fast:.1f}s (goal <=60s) vs ~{t_base:.0f}s = pairwise grouping ~{t_pairwise:.0f}s "
          f"(c*m^2 per problem, c from the grouping part) + old trial loop ~{t_base_sub * PROBLEMS / BASE_PROBLEMS:.0f}s "
          f"(timed {t_base_sub:.1f}s on {BASE_PROBLEMS} problems) -> {res['ratio']:.0f}x")
    return res


def main() -> None:
    answers.pairwise_classes(["1", "\\frac{1}{2}"])  # import math-verify and sympy before any timed run
    rng = np.random.default_rng(0)
    g = grouping(rng)
    result = {"grouping": g, "rule": rule(rng, g["pairwise_s_per_distinct_squared"])}
    io.write_json(result, ROOT / "results/bench/selection.json")


if __name__ == "__main__":
    main()
