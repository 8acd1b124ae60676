"""Benchmark: math verification throughput at paper shape (10⁴ samples per problem) against the cached verifier
as it was before strict extraction, numbers and units (issue 12), both timed in this run on the same samples.

Samples: 8 GSM8K and 8 MATH-500 references (resources/data, the demo's copies) × 10⁴ samples each, texts in each
dataset's prompt style. Per problem the answers follow a Zipf law over 40 candidates (the correct one, near
misses, rewritings); in the first workload a tenth of the samples end without the format (rambling with a last
number), as a weak model's samples do, in the second every sample is formatted. Baseline = the math verifier of commit BASELINE (loaded from git; needs the repository's
history), with its answer cache on. Also checks that the new verifier with and without its cache gives the same
verdicts (on a subset: uncached runs math-verify once per sample).
Writes results/bench/verify.json and prints one line. Target: new / baseline ≥ 0.9.
"""
import importlib.util
import json
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
from infscale import io  # noqa: E402
from infscale.verify import verify_frames  # noqa: E402
from infscale.verify.math import equivalent  # noqa: E402

BASELINE = "cc6ab5a"  # main before issue 12: lenient extraction, math-verify only, (problem, answer) cache
PER_PROBLEM, PROBLEMS, SUBSET = 10_000, 8, 2_000


def baseline_module():
    src = subprocess.run(["git", "-C", str(ROOT), "show", f"{BASELINE}:workflow/infscale/verify/math.py"],
                         check=True, capture_output=True, text=True).stdout
    spec = importlib.util.spec_from_loader("infscale.verify.math_baseline", loader=None)
    mod = importlib.util.module_from_spec(spec)
    mod.__package__ = "infscale.verify"
    exec(compile(src, f"{BASELINE}:math.py", "exec"), mod.__dict__)  # noqa: S102 - the project's own past code
    return mod


def _variants(ref: str, rng) -> list[str]:
    try:
        n = int(ref.replace(",", ""))
        return [ref, f"{n}.0", f"{n:,}", str(n + 1), str(n - 1), str(2 * n)] + [str(n + d) for d in range(2, 36)]
    except ValueError:
        return [ref, f" {ref} "] + [f"{ref}+{d}" for d in range(1, 39)]


def workload(rng, rambling_share: float):
    sets = []
    for dataset, style, path, field in (("gsm8k", "gsm8k", "resources/data/gsm8k/test.jsonl", "answer"),
                                        ("math500", "minerva", "resources/data/math500/test.jsonl", "answer")):
        rows = [json.loads(line) for line in (ROOT / path).open()][:PROBLEMS]
        refs = [r[field].split("####")[-1].strip().replace(",", "") if dataset == "gsm8k" else r[field] for r in rows]
        pids, texts = [], []
        for i, ref in enumerate(refs):
            cands = _variants(ref, rng)
            weights = 1.0 / np.arange(1, len(cands) + 1) ** 1.2
            picks = rng.choice(len(cands), PER_PROBLEM, p=weights / weights.sum())
            rambling = rng.random(PER_PROBLEM) < rambling_share
            body = "Let us work it out. First 3 + 4 = 7, then 7 * 2 = 14, and we continue carefully. " * 4
            for j, r in zip(picks, rambling):
                a = cands[j]
                if r:
                    texts.append(body + f"so it keeps going {j} and")
                elif style == "gsm8k":
                    texts.append(body + f"\n#### {a}")
                else:
                    texts.append(body + f"\nFinal Answer: The final answer is ${a}$. I hope it is correct.")
                pids.append(f"{dataset}-{i}")
        problems = pd.DataFrame({"problem_id": [f"{dataset}-{i}" for i in range(len(refs))], "question": "q",
                                 "domain": "math", "reference": refs})
        samples = pd.DataFrame({"problem_id": pids, "sample_index": np.tile(np.arange(PER_PROBLEM), len(refs)),
                                "text": texts, "prompt_tokens": 1, "completion_tokens": 1, "finish_reason": "stop",
                                "seed": 0})
        sets.append((style, problems, samples))
    return sets


def timed(sets, base) -> dict:
    t = {"baseline": 0.0, "new": 0.0}
    for style, problems, samples in sets:
        t0 = time.perf_counter()
        base.verify(problems, samples, {"cache": True})
        t["baseline"] += time.perf_counter() - t0
        t0 = time.perf_counter()
        verify_frames(problems, samples, {"cache": True, "style": style})
        t["new"] += time.perf_counter() - t0
    return t


def main() -> None:
    rng = np.random.default_rng(0)
    base = baseline_module()
    equivalent("1", "1")
    base.equivalent("1", "1")  # import math-verify and sympy before either timed run
    result = {"samples_per_problem": PER_PROBLEM, "baseline_commit": BASELINE}
    for name, share in (("", 0.1), ("_formatted_only", 0.0)):
        sets = workload(rng, share)
        total = sum(len(s) for _, _, s in sets)
        t = timed(sets, base)
        result.update({f"samples{name}": total, f"baseline_samples_per_s{name}": total / t["baseline"],
                       f"new_samples_per_s{name}": total / t["new"], f"ratio{name}": t["baseline"] / t["new"]})
    # the cache changes nothing but speed
    for style, problems, samples in sets:
        sub = samples.sample(SUBSET, random_state=0)
        a = verify_frames(problems, sub, {"cache": True, "style": style}).drop(columns="elapsed_ms")
        b = verify_frames(problems, sub, {"cache": False, "style": style}).drop(columns="elapsed_ms")
        pd.testing.assert_frame_equal(a, b)
    io.write_json(result, ROOT / "results/bench/verify.json")
    print(f"verify: {result['samples']} samples ({PER_PROBLEM} per problem, a tenth without the format), "
          f"{result['new_samples_per_s']:.0f}/s vs {result['baseline_samples_per_s']:.0f}/s for the cached verifier "
          f"of {BASELINE} -> {result['ratio']:.2f}x; all formatted: {result['new_samples_per_s_formatted_only']:.0f}"
          f" vs {result['baseline_samples_per_s_formatted_only']:.0f}/s -> {result['ratio_formatted_only']:.2f}x "
          f"(target >= 0.9)")


if __name__ == "__main__":
    main()
