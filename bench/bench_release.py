"""Benchmark: released samples at paper shape through the real Snakefile, on 2 cores.

5 models × 140 problems × 10⁴ samples (the release layout, saved by `datasets`, short or empty texts, a real fast
tokenizer for token counts), taken through import_release → coverage → fit → flops/cost/matched (when the plan
schedules them) → report → paper-comparison table. Reports wall time and the peak RSS of the largest job
(getrusage of the children: an upper bound, since Linux carries the forking process's RSS into a child's
ru_maxrss). Target: ≤ 2 minutes and ≤ 4 GB. Also imports one model with texts of real length in a fresh
process (its own high-water mark, VmHWM).

Baseline: the import written as a per-sample Python loop (one dict per sample, the way the old monkeys_import
built its rows) writing the same samples/verdicts shards and merged table, timed in-process on one model against
infscale.release.import_release on the same release. The machine is shared, so the
CPU seconds of all jobs and the load average are reported beside the wall time.
Writes results/bench/release.json and prints one line.
"""
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the test fixtures (tests/ is no package)
from release_fixture import release_table, write_problems, write_release, write_tokenizer  # noqa: E402
from workflow_helpers import copy_workflow, job_counts, snakemake, write_config  # noqa: E402

from infscale import io, release  # noqa: E402
from infscale.merge import merge_frames  # noqa: E402

MODELS = {  # the paper's CodeContests release subsets (Monkeys Fig. 2/5), so the comparison table fills in
    "llama-3-8b-instruct": "CodeContests_Llama-3-8B-Instruct", "llama-3-70b-instruct": "CodeContests_Llama-3-70B-Instruct",
    "gemma-2b": "CodeContests_Gemma-2B", "gemma-7b": "CodeContests_Gemma-7B", "llama-3-8b": "CodeContests_Llama-3-8B",
}
DS = "code_contests"  # a code task: the report has no selection jobs (math only; timed in bench_selection's lane)
SHAPES = {"llama-3-8b-instruct": (8.03e9, 32, 4096), "llama-3-70b-instruct": (7.06e10, 80, 8192),
          "gemma-2b": (2.51e9, 18, 2048), "gemma-7b": (8.54e9, 28, 3072), "llama-3-8b": (8.03e9, 32, 4096)}
PROBLEMS, N, SHARD = 140, 10_000, 2_000


def naive_import(path: Path, model: str, dataset: str, out: Path) -> pd.DataFrame:
    """The baseline: the same outputs (samples and verdicts shards, merged table), rows built one sample at a time
    in Python, the way the old monkeys_import did."""
    import datasets

    srows, vrows = [], []
    for rec in datasets.load_from_disk(str(path)):
        pid = str(rec["orig_dset_idx"])
        for i, (text, ok) in enumerate(zip(rec["samples"], rec["is_corrects"])):
            srows.append({"problem_id": pid, "sample_index": i, "text": text, "prompt_tokens": None,
                          "completion_tokens": None, "finish_reason": None, "seed": None})
            vrows.append({"problem_id": pid, "sample_index": i, "correct": bool(ok),
                          "status": "correct" if ok else "wrong", "extracted": None, "extraction": "none",
                          "verifier": "release",
                          "elapsed_ms": 0.0, "isolation": "none"})
    samples, verdicts = pd.DataFrame(srows), pd.DataFrame(vrows)
    pairs = []
    for s in range(N // SHARD):
        sel = (samples["sample_index"] // SHARD) == s
        pairs.append((s, samples[sel], verdicts[sel]))
        io.write_parquet(samples[sel], out / "s" / f"{s}.parquet")
        io.write_parquet(verdicts[sel], out / "v" / f"{s}.parquet")
    merged = merge_frames(model, dataset, pairs)
    io.write_parquet(merged, out / "merged.parquet")
    return merged


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="bench_release."))
    wd = copy_workflow(work / "wf")
    ids = np.sort(np.random.default_rng(1).choice(500, PROBLEMS, replace=False))
    write_problems(wd / "data" / "problems.jsonl", 500)
    tok = write_tokenizer(wd / "data" / "tokenizer")
    models = {}
    for j, (m, subset) in enumerate(MODELS.items()):
        write_release(release_table(PROBLEMS, N, seed=j, ids=ids), wd / "data" / m, "disk")
        n, layers, d = SHAPES[m]
        models[m] = {"source": {"hf": f"bench/{m}", "tokenizer": str(tok)}, "family": m.split("-")[0] + "-" + m.split("-")[1],
                     "shape": {"n_params": n, "n_layers": layers, "d_model": d},
                     "price": {"input_per_mtok": 0.1, "output_per_mtok": 0.2}, "datasets": [DS],
                     "releases": {DS: {"path": f"data/{m}", "subset": subset}}}
    cfg = {"defaults": {"samples": N, "samples_per_shard": SHARD}, "models": models,
           "datasets": {DS: {"source": {"path": "data/problems.jsonl"}, "domain": "code_stdio",
                             "fields": {"problem_id": None, "question": "question", "reference": ["answer"]}}},
           "report": {"paper_comparison": "resources/published/monkeys.yaml"}}
    conf = write_config(wd, cfg)
    targets = ([f"results/analysis/fit/{m}/{DS}.csv" for m in MODELS] + [f"results/report/{DS}/coverage.png",
               "results/report/paper_comparison.csv"])
    planned = job_counts(snakemake(wd, *targets, "-n", "--configfile", str(conf)).stdout)
    t0 = time.perf_counter()
    snakemake(wd, *targets, "--configfile", str(conf))
    wall = time.perf_counter() - t0
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak_gb, cpu = ru.ru_maxrss / 1e6, ru.ru_utime + ru.ru_stime
    load = os.getloadavg()[0]

    # import alone, in-process: infscale vs the per-sample loop, same release
    m = next(iter(MODELS))
    job = release.import_job(cfg, m, DS) | {"tokenizer": None}
    outs = work / "inproc"
    t1 = time.perf_counter()
    ours = release.import_release(job, None, [str(outs / "s" / f"{s}.parquet") for s in range(N // SHARD)],
                                  [str(outs / "v" / f"{s}.parquet") for s in range(N // SHARD)],
                                  str(outs / "merged.parquet"), base_dir=wd)
    t_ours = time.perf_counter() - t1
    t1 = time.perf_counter()
    base = naive_import(wd / "data" / m, m, DS, work / "naive")
    t_base = time.perf_counter() - t1
    assert int(base["correct"].sum()) == int(ours["correct"].sum()) and len(base) == len(ours)

    # one model with texts of real length (200–1400 characters, ≈1.1 GB in all), imported in a fresh process
    texts = ["x" * int(n) for n in np.random.default_rng(0).integers(200, 1400, 1000)]
    write_release(release_table(PROBLEMS, N, seed=9, ids=ids, texts=texts), work / "long", "disk")
    code = (f"import json,resource,time; from infscale import release;"
            f"t=time.perf_counter(); release.import_release({job | {'release': {'path': str(work / 'long')}}!r},"
            f" None, [{str(work)!r}+f'/L/s/{{s}}.parquet' for s in range({N // SHARD})],"
            f" [{str(work)!r}+f'/L/v/{{s}}.parquet' for s in range({N // SHARD})], {str(work / 'L' / 'm.parquet')!r});"
            "hwm=[l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1];"
            "print(json.dumps([time.perf_counter()-t, int(hwm)/1e6]))")  # VmHWM: ru_maxrss keeps the parent's across exec
    t_long, rss_long = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                                 check=True).stdout.splitlines()[-1])

    comparison = pd.read_csv(wd / "results" / "report" / "paper_comparison.csv")
    result = {"models": len(MODELS), "problems": PROBLEMS, "samples_per_problem": N, "cores": 2,
              "planned_jobs": planned, "wall_s": wall, "cpu_s_all_jobs": cpu, "load_avg_1min_after": load, "peak_rss_gb_largest_job": peak_gb,
              "matched": "matched" in planned or "skipped: the plan schedules no matched job (no FLOPs for these models)",
              "import_one_model_s": t_ours, "import_long_texts_s": t_long, "import_long_texts_peak_rss_gb": rss_long, "naive_loop_import_one_model_s": t_base, "ratio": t_base / t_ours,
              "paper_rows_filled": int(comparison["infscale"].notna().sum()), "goal_wall_s": 120, "goal_rss_gb": 4}
    io.write_json(result, ROOT / "results" / "bench" / "release.json")
    print(f"release 5×140×1e4 via Snakefile on 2 cores: {wall:.0f}s wall (goal ≤120 s; CPU {cpu:.0f}s over all "
          f"jobs, load {load:.1f}), peak RSS {peak_gb:.2f} GB "
          f"(goal ≤4); jobs {json.dumps(planned)}; import one model {t_ours:.1f}s vs per-sample loop {t_base:.1f}s "
          f"({t_base / t_ours:.1f}x); one model with ~1.1 GB of real-length texts {t_long:.1f}s, {rss_long:.2f} GB")


if __name__ == "__main__":
    main()
