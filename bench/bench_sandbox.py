"""Benchmark the code sandbox: per-run overhead against bare `python3 -c pass`, and HumanEval throughput with
program deduplication on vs off.

  python bench/bench_sandbox.py [--runs 100] [--copies 100] [--subset 20] [--threads N]

1. Overhead: `runs` sandboxed runs of an empty program, interleaved with `runs` bare `python3 -c pass` runs of
   the same interpreter (the baseline, measured alongside). Goal: at most 10 ms extra per run (median), with
   every cap on (cgroups or the rlimit fallback, seccomp, /dev/shm tmpfs, --disable-userns). The load average
   is recorded: on a shared machine the extra time grows with it.
2. Throughput: HumanEval canonical solutions x `copies` identical samples each, verified with verify_function.
   Dedup on vs off over the same `subset` problems (dedup off runs every copy), and dedup on over all 164.
Writes results/bench/sandbox.json and prints a one-line summary.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

import pandas as pd  # noqa: E402

from infscale import io  # noqa: E402
from infscale.verify.code import verify_function  # noqa: E402
from infscale.verify.sandbox import Sandbox  # noqa: E402


def overhead(runs: int) -> dict:
    sb = Sandbox("bwrap")
    py = sb.python
    bare, boxed = [], []
    for _ in range(5):  # warm caches
        subprocess.run([py, "-c", "pass"], check=True)
        sb.run_python("pass")
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run([py, "-c", "pass"], check=True)
        bare.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        r = sb.run_python("pass")
        boxed.append((time.perf_counter() - t) * 1000)
        assert r.status == "ok", r
    med_b, med_s = statistics.median(bare), statistics.median(boxed)
    return {"runs": runs, "interpreter": py, "isolation": sb.applied, "load_avg_1m": os.getloadavg()[0],
            "bare_ms_median": med_b, "sandbox_ms_median": med_s,
            "bare_ms_mean": statistics.fmean(bare), "sandbox_ms_mean": statistics.fmean(boxed),
            "extra_ms_median": med_s - med_b, "extra_ms_mean": statistics.fmean(boxed) - statistics.fmean(bare),
            "ratio_median": med_s / med_b, "goal_extra_ms": 10.0, "meets_goal": (med_s - med_b) <= 10.0}


def humaneval_frames(copies: int, limit: int | None):
    rows = [json.loads(line) for line in (ROOT / "resources/data/humaneval/test.jsonl").read_text().splitlines()]
    rows = rows[:limit] if limit else rows
    problems = pd.DataFrame({"problem_id": [r["task_id"] for r in rows], "question": "", "domain": "code_function",
                             "reference": [json.dumps({"prompt": r["prompt"], "test": r["test"],
                                                       "entry_point": r["entry_point"]}) for r in rows]})
    pids, texts, idx = [], [], []
    for r in rows:
        for k in range(copies):
            pids.append(r["task_id"])
            texts.append(r["canonical_solution"])
            idx.append(k)
    samples = pd.DataFrame({"problem_id": pids, "sample_index": idx, "text": texts})
    return problems, samples


def throughput(copies: int, limit: int | None, dedupe: bool, threads: int) -> dict:
    problems, samples = humaneval_frames(copies, limit)
    t = time.perf_counter()
    v = verify_function(problems, samples, {"code": {"dedupe": dedupe}}, threads)
    dt = time.perf_counter() - t
    assert v["correct"].all(), v[~v["correct"]].head()
    programs = len(problems) if dedupe else len(samples)
    return {"problems": len(problems), "copies": copies, "samples": len(samples), "dedupe": dedupe,
            "threads": threads, "seconds": dt, "samples_per_s": len(samples) / dt,
            "sandbox_runs": programs, "sandbox_runs_per_s": programs / dt}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--copies", type=int, default=100)
    ap.add_argument("--subset", type=int, default=20, help="problems for the dedup on/off comparison (0 = all 164)")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--out", default=str(ROOT / "results/bench/sandbox.json"))
    a = ap.parse_args()
    res = {"overhead": overhead(a.runs)}
    res["dedup_on_subset"] = throughput(a.copies, a.subset or None, True, a.threads)
    res["dedup_off_subset"] = throughput(a.copies, a.subset or None, False, a.threads)
    res["dedup_on_all"] = throughput(a.copies, None, True, a.threads)
    res["dedup_speedup"] = res["dedup_on_subset"]["samples_per_s"] / res["dedup_off_subset"]["samples_per_s"]
    res["machine"] = {"cpus": os.cpu_count(), "python": sys.version.split()[0]}
    io.write_json(res, a.out)
    o = res["overhead"]
    print(f"sandbox ({o['isolation']}): {o['sandbox_ms_median']:.1f} ms/run vs bare python3 -c pass "
          f"{o['bare_ms_median']:.1f} ms (+{o['extra_ms_median']:.1f} ms, goal <= 10: "
          f"{'met' if o['meets_goal'] else 'NOT met'}; load {o['load_avg_1m']:.1f}); HumanEval x{a.copies}: "
          f"dedup on {res['dedup_on_subset']['samples_per_s']:.0f} samples/s vs off "
          f"{res['dedup_off_subset']['samples_per_s']:.1f} samples/s ({res['dedup_speedup']:.0f}x; "
          f"{res['dedup_off_subset']['sandbox_runs_per_s']:.1f} programs/s), all 164 with dedup "
          f"{res['dedup_on_all']['samples_per_s']:.0f} samples/s -> {a.out}")


if __name__ == "__main__":
    main()
