"""Benchmark: math verification at paper shape, 128 problems × 10⁴ samples with realistic answer repetition
(bench/synth_answers.py: a few frequent answers and a long tail), against a per-sample math-verify loop.

- verifier: the real verify entry point the verify rule calls (infscale.verify.verify_frames with the default
  options: strict extraction, the (problem, answer) cache, and math-verify only for answers that share a bucket
  key with the reference), timed on all 128 × 10⁴ samples;
- baseline: the same verifier with its cache off (verify_frames(..., {"cache": False}): one extraction and one
  full check per sample), timed on BASE samples per problem of BASE_PROBLEMS problems and EXTRAPOLATED per sample
  to 128 × 10⁴ (the whole loop would take hours).
Verdicts (every column but elapsed_ms) must be identical to the baseline's on the baseline's samples. Writes
results/bench/verify_scale.json. Run with `nice`; a few minutes.
"""
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
import synth_answers  # noqa: E402

from infscale import io  # noqa: E402
from infscale.verify import verify_frames  # noqa: E402
from infscale.verify.math import equivalent  # noqa: E402

PROBLEMS, N = 128, 10_000
BASE_PROBLEMS, BASE = 16, 250


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
    ours = verify_frames(problems, samples)
    t_ours = time.perf_counter() - t0

    base_rows = samples[samples["problem_id"].isin(problems["problem_id"][:BASE_PROBLEMS])
                        & (samples["sample_index"] < BASE)]
    t0 = time.perf_counter()
    base = verify_frames(problems, base_rows, {"cache": False})
    t_base_sub = time.perf_counter() - t0
    t_base = t_base_sub / len(base_rows) * len(samples)
    mine = ours.merge(base_rows[["problem_id", "sample_index"]], on=["problem_id", "sample_index"])
    pd.testing.assert_frame_equal(mine.drop(columns="elapsed_ms").reset_index(drop=True),
                                  base.drop(columns="elapsed_ms").reset_index(drop=True), check_dtype=False,
                                  check_categorical=False)

    res = {"problems": PROBLEMS, "samples_per_problem": N, "distinct_texts_per_problem_mean": float(distinct.mean()),
           "distinct_answers_per_problem_mean": float(ours.groupby("problem_id")["extracted"].nunique().mean()),
           "verify_s": t_ours, "baseline_samples_timed": len(base_rows), "baseline_subset_s": t_base_sub,
           "baseline_s_extrapolated": t_base, "ratio_vs_per_sample": t_base / t_ours,
           "accuracy": float(ours["correct"].mean()), "goal_ratio": 10}
    io.write_json(res, ROOT / "results/bench/verify_scale.json")
    print(f"math verify 128x1e4 (verify_frames, default options): {t_ours:.0f}s; per-sample loop ~{t_base:.0f}s "
          f"(timed {t_base_sub:.0f}s on {len(base_rows)} samples, extrapolated per sample) -> "
          f"{res['ratio_vs_per_sample']:.1f}x (goal >=10x); verdicts identical on the timed samples")


if __name__ == "__main__":
    main()
