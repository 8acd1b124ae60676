"""Benchmark: math verification at paper shape, 128 problems × 10⁴ samples with realistic answer repetition
(bench/synth_answers.py: a few frequent answers and a long tail), against a per-sample math-verify loop.

- baseline: the verifier with its answer cache off (verify_frames(..., {"cache": False}): one math-verify check
  per sample), timed on BASE samples per problem of BASE_PROBLEMS problems and scaled per sample to 128 × 10⁴;
- cached: the existing verifier path (verify_frames with the (problem, answer) cache), timed on CACHED_PROBLEMS
  whole problems and scaled per problem to 128 (its cost grows with the distinct answers, not the samples);
- keyed: extraction per sample, then per problem answers.reference_verdicts (math-verify only for the distinct
  answers that share a bucket key with the reference), timed on all 128 × 10⁴.
Verdicts (correct, status, extracted) must be identical to the baseline's on the baseline's samples, and keyed
must equal cached on the cached problems. Writes results/bench/verify_scale.json. Run with `nice`; ~5 min.
"""
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow"))
sys.path.insert(0, str(ROOT / "bench"))
import synth_answers  # noqa: E402

from infscale import answers, io  # noqa: E402
from infscale.verify import verify_frames  # noqa: E402
from infscale.verify.math import equivalent, extract_answer  # noqa: E402

PROBLEMS, N = 128, 10_000
BASE_PROBLEMS, BASE = 8, 100
CACHED_PROBLEMS = 4
COLS = ["problem_id", "sample_index", "correct", "status", "extracted"]


def _texts(rng, ans):
    out = []
    for a in ans:
        if a is None:
            out.append("We add the two numbers and then divide, so the result follows.")
        elif rng.random() < 0.5:
            out.append(f"First we simplify the expression.\nThen we solve for the unknown.\n"
                       f"Final Answer: The final answer is ${a}$. I hope it is correct.")
        else:
            out.append(f"Working through the cases, the value is \\boxed{{{a}}}.")
    return out


def keyed(problems: pd.DataFrame, samples: pd.DataFrame) -> pd.DataFrame:
    refs = dict(zip(problems["problem_id"], problems["reference"]))
    extracted = [extract_answer(t) for t in samples["text"]]
    df = pd.DataFrame({"problem_id": samples["problem_id"].values, "sample_index": samples["sample_index"].values,
                       "extracted": extracted})
    cache = answers.EquivalenceCache()
    ok = np.zeros(len(df), bool)
    for pid, idx in df.groupby("problem_id", sort=False).indices.items():
        ex = df["extracted"].to_numpy()[idx]
        distinct = {a for a in ex if a is not None}
        v = answers.reference_verdicts(refs[pid], distinct, equivalent, cache)
        ok[idx] = [a is not None and v[a] for a in ex]
    df["correct"] = ok
    df["status"] = np.where(df["extracted"].isna(), "no_answer", np.where(ok, "correct", "wrong"))
    return df[COLS]


def main() -> None:
    equivalent("1", "1")  # import math-verify and sympy before any timed run
    rng = np.random.default_rng(0)
    tail = synth_answers.pool(rng, 20_000)
    probs = synth_answers.problems(rng, PROBLEMS, N, tail)
    problems = pd.DataFrame({"problem_id": [p[0] for p in probs], "question": "q", "domain": "math",
                             "reference": [p[3] for p in probs]})
    samples = pd.concat([pd.DataFrame({"problem_id": pid, "sample_index": np.arange(N), "text": _texts(rng, ans),
                                       "prompt_tokens": 100, "completion_tokens": 50, "finish_reason": "stop",
                                       "seed": 0}) for pid, ans, _, _ in probs], ignore_index=True)
    distinct = samples.groupby("problem_id")["text"].nunique()

    t0 = time.perf_counter()
    ours = keyed(problems, samples)
    t_keyed = time.perf_counter() - t0

    base_rows = samples[samples["problem_id"].isin(problems["problem_id"][:BASE_PROBLEMS])
                        & (samples["sample_index"] < BASE)]
    t0 = time.perf_counter()
    base = verify_frames(problems, base_rows, {"cache": False})
    t_base_sub = time.perf_counter() - t0
    t_base = t_base_sub / len(base_rows) * len(samples)
    mine = ours.merge(base_rows[["problem_id", "sample_index"]], on=["problem_id", "sample_index"])
    pd.testing.assert_frame_equal(mine.reset_index(drop=True), base[COLS].astype(mine.dtypes.to_dict())
                                  .reset_index(drop=True), check_dtype=False)

    cached_rows = samples[samples["problem_id"].isin(problems["problem_id"][:CACHED_PROBLEMS])]
    t0 = time.perf_counter()
    cached = verify_frames(problems, cached_rows, {"cache": True})
    t_cached_sub = time.perf_counter() - t0
    t_cached = t_cached_sub / CACHED_PROBLEMS * PROBLEMS
    mine = ours[ours["problem_id"].isin(cached_rows["problem_id"].unique())]
    assert (mine["correct"].to_numpy() == cached["correct"].to_numpy()).all(), "keyed != cached verdicts"
    assert (mine["status"].to_numpy() == cached["status"].astype(str).to_numpy()).all()

    res = {"problems": PROBLEMS, "samples_per_problem": N, "distinct_texts_per_problem_mean": float(distinct.mean()),
           "keyed_s": t_keyed, "baseline_samples_timed": len(base_rows), "baseline_subset_s": t_base_sub,
           "baseline_s_extrapolated": t_base, "cached_problems_timed": CACHED_PROBLEMS,
           "cached_subset_s": t_cached_sub, "cached_s_extrapolated": t_cached,
           "ratio_keyed_vs_per_sample": t_base / t_keyed, "ratio_cached_vs_per_sample": t_base / t_cached,
           "accuracy": float(ours["correct"].mean()), "goal_ratio": 10}
    io.write_json(res, ROOT / "results/bench/verify_scale.json")
    print(f"math verify 128x1e4: keyed {t_keyed:.0f}s, existing cache ~{t_cached:.0f}s (timed {t_cached_sub:.0f}s on "
          f"{CACHED_PROBLEMS} problems), per-sample loop ~{t_base:.0f}s (timed {t_base_sub:.0f}s on {len(base_rows)} "
          f"samples) -> keyed {res['ratio_keyed_vs_per_sample']:.0f}x, cached {res['ratio_cached_vs_per_sample']:.1f}x "
          f"(goal >=10x); verdicts identical")


if __name__ == "__main__":
    main()
