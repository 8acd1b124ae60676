"""Compute plan (infscale.plan): counts, tokens, FLOPs and GPU-hours from small explicit configs; and the paper
plan's dry run, which must schedule every job the plan promises (each rule's exact job count)."""

from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd
import pytest
import yaml

from infscale import config as C
from infscale import plan
from infscale.flops import inference_flops_v3
from infscale.io import write_parquet
from workflow_helpers import ROOT, copy_workflow, job_counts, planned_outputs, snakemake, write_config

SHAPE = {"n_params": 1.0e9, "n_layers": 16, "d_model": 2048}


def _config(**plan_keys):
    return C.fill_defaults({  # the schema's defaults, as validation fills them in
        "defaults": {"samples": 100, "samples_per_shard": 25, "sampling": {"max_tokens": 512}},
        "models": {
            "small": {"source": {"hf": "x/small"}, "family": "llama", "shape": SHAPE},
            "big": {"source": {"hf": "x/big"}, "family": "llama", "tensor_parallel": 4,
                    "shape": {"n_params": 7.0e10, "n_layers": 80, "d_model": 8192}, "datasets": ["gsm8k"]},
        },
        "datasets": {
            "gsm8k": {"source": {"path": "g.jsonl"}, "domain": "math", "subset": {"n": 128}},
            "math": {"source": {"path": "m.jsonl"}, "domain": "math", "samples": 200, "samples_per_shard": 50,
                     "sampling": {"max_tokens": 1024}},
        },
        "plan": {"fill": 0.25, "prompt_tokens": {"gsm8k": 300, "math": 200}, "problems": {"math": 10},
                 **plan_keys},
    })


def _row(df, model, dataset):
    return df[(df.model == model) & (df.dataset == dataset)].iloc[0]


def test_counts_tokens_and_flops_from_config_estimates():
    df = plan.build_plan(_config(throughput_tok_s={"llama": 1000.0, "big": 250.0}))
    assert list(df.model) == ["small", "small", "big", "TOTAL"]
    r = _row(df, "small", "math")
    assert (r.problems, r.samples, r.generate_jobs, r.verify_jobs) == (10, 2000, 4, 4)
    assert r.prompt_tokens == 10 * 200
    assert r.decode_tokens == 2000 * 1024 * 0.25
    expected = 10 * inference_flops_v3(1e9, 16, 2048, 200, 256, 200)
    assert r.flops == pytest.approx(float(expected))
    # GPU-hours from the throughput table: the family entry for small, the model's own entry for big (x4 GPUs)
    assert r.gpu_hours == pytest.approx(2000 * 256 / 1000.0 / 3600)
    b = _row(df, "big", "gsm8k")
    assert (b.problems, b.gpus_per_job) == (128, 4)
    assert b.gpu_hours == pytest.approx(128 * 100 * 128 / 250.0 * 4 / 3600)
    assert b.gpu_hours_source == "throughput table"
    t = df[df.model == "TOTAL"].iloc[0]
    assert t.samples == df.samples[:3].sum() and t.flops == pytest.approx(df.flops[:3].sum())
    assert t.gpu_hours == pytest.approx(df.gpu_hours[:3].sum())


def test_problems_file_overrides_estimates(tmp_path):
    questions = ["x" * 40, "y" * 400, "z" * 4]
    write_parquet(pd.DataFrame({"problem_id": ["a", "b", "c"], "question": questions}), tmp_path / "math.parquet")
    df = plan.build_plan(_config(chars_per_token=4), problems_dir=tmp_path)
    r = _row(df, "small", "math")
    assert r.problems == 3 and r.samples == 600 and r.problems_source == "problems file"
    assert r.prompt_tokens == pytest.approx((40 + 400 + 4) / 4)
    per_problem = inference_flops_v3(1e9, 16, 2048, np.array([10.0, 100.0, 1.0]), 256, 200)
    assert r.flops == pytest.approx(float(per_problem.sum()))
    # the other dataset still comes from the config
    assert _row(df, "small", "gsm8k").problems_source == "config"


def test_benchmarks_of_finished_shards_beat_the_throughput_table(tmp_path):
    bench = tmp_path / "bench"
    folder = bench / "big" / "gsm8k"
    folder.mkdir(parents=True)
    header = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
    (folder / "0.tsv").write_text(header + "100.0\t0:01:40\t1\t1\t1\t1\t0\t0\t0\t1\n")
    (folder / "1.tsv").write_text(header + "300.0\t0:05:00\t1\t1\t1\t1\t0\t0\t0\t1\n")
    (folder / "2.tsv").write_text("garbage")  # not a benchmark file: ignored
    df = plan.build_plan(_config(throughput_tok_s={"llama": 1.0}), bench_dir=bench)
    b = _row(df, "big", "gsm8k")
    assert b.gpu_hours == pytest.approx(200.0 * 4 * 4 / 3600)  # mean 200 s × 4 shards × 4 GPUs
    assert b.gpu_hours_source == "benchmarks (2/4 shards)"
    assert _row(df, "small", "gsm8k").gpu_hours_source == "throughput table"


def test_unknowns_show_as_question_marks_and_totals_stay_unknown():
    cfg = _config()
    del cfg["plan"]["prompt_tokens"]["math"]
    del cfg["models"]["small"]["shape"]
    df = plan.build_plan(cfg)
    r = _row(df, "small", "math")
    assert r.problems == 10 and pd.isna(r.prompt_tokens) and pd.isna(r.flops) and pd.isna(r.gpu_hours)
    t = df[df.model == "TOTAL"].iloc[0]
    assert pd.isna(t.gpu_hours) and t.gpu_hours_source == "incomplete"
    text = plan.format_plan(df)
    assert "?" in text and "TOTAL" in text and "small" in text


def test_adding_samples_scales_decode_linearly_and_prompt_not_at_all():
    a = plan.build_plan(_config())
    cfg = _config()
    cfg["datasets"]["math"]["samples"] = 400
    b = plan.build_plan(cfg)
    ra, rb = _row(a, "small", "math"), _row(b, "small", "math")
    assert rb.decode_tokens == 2 * ra.decode_tokens and rb.prompt_tokens == ra.prompt_tokens
    assert rb.generate_jobs == 2 * ra.generate_jobs
    assert rb.flops > ra.flops


def test_write_plan_writes_csv_and_text(tmp_path):
    df = plan.build_plan(_config(throughput_tok_s={"llama": 1000.0}))
    text = plan.write_plan(df, tmp_path / "plan.csv", tmp_path / "plan.txt")
    back = pd.read_csv(tmp_path / "plan.csv")
    assert list(back.columns) == plan.COLUMNS and len(back) == len(df)
    assert (tmp_path / "plan.txt").read_text().strip() == text.strip()


def test_shape_from_config_json_when_it_exists(tmp_path):
    cfg = _config(throughput_tok_s={"llama": 1000.0})
    path = tmp_path / "config.json"
    cfg["models"]["small"]["shape"] = {"config_json": str(path)}
    assert pd.isna(_row(plan.build_plan(cfg), "small", "math").flops)     # not there yet: unknown, not a crash
    path.write_text(json.dumps({"model_type": "llama", "hidden_size": 2048, "intermediate_size": 5632,
                                "num_hidden_layers": 16, "num_attention_heads": 32, "vocab_size": 32000}))
    cfg["models"]["small"]["shape"]["n_params"] = 1.0e9                  # the override beats the counted params
    r = _row(plan.build_plan(cfg), "small", "math")
    assert r.flops == pytest.approx(10 * float(inference_flops_v3(1e9, 16, 2048, 200, 256, 200)))


# The paper plan (config/config.yaml): 26 model × dataset pairs (Llama-3 8B/70B on all four tasks, Gemma-2B on three,
# seven Pythias on GSM8K and MATH, DeepSeek-Coder-V2 on CodeContests), 20 shards of 500 samples each.
PAPER_COUNTS = {
    "prepare_problems": 4, "generate_shard": 520, "verify_shard": 520, "merge_shards": 26, "coverage": 26,
    "export": 26, "selection": 20,    # math-domain pairs (GSM8K, MATH)
    "fit": 26, "backtest": 26, "adaptive": 26,   # every pair
    "flops": 26,                      # every pair: every model has models.<m>.shape
    "cost": 9,                        # priced models: Llama-3 8B and 70B on 4 tasks, DeepSeek on 1
    "matched": 10,                    # families per task: 3 on GSM8K and MATH, 2 on CodeContests and MiniF2F
    "allocate": 4, "report_dataset": 4, "all": 1,
}


def test_paper_plan_dry_run_schedules_every_promised_job(tmp_path):
    wd = copy_workflow(tmp_path / "wf")
    cfg = C.load(ROOT / "config" / "config.yaml")
    t0 = time.perf_counter()
    r = snakemake(wd, "-n", "--quiet", "rules", "--configfile", "config/config.yaml")
    counts = job_counts(r.stdout)
    assert counts == PAPER_COUNTS
    # the same numbers from the config, so a changed plan points at the line that changed
    pairs = C.pairs(cfg)
    assert counts["generate_shard"] == sum(len(C.shards(cfg, d)) for _, d in pairs)
    assert counts["flops"] == len(pairs) == sum(C.has_flops(cfg, m, d) for m, d in pairs)
    assert counts["cost"] == sum(C.has_price(cfg, m) for m, _ in pairs)
    assert counts["matched"] == len({(C.family(cfg, m), d) for m, d in pairs})
    print(f"paper plan: {sum(counts.values())} jobs planned in {time.perf_counter() - t0:.1f} s")


def test_paper_plan_matched_tables_cover_every_family_and_task(tmp_path):
    wd = copy_workflow(tmp_path / "wf")
    r = snakemake(wd, "results/analysis/matched/llama-3/math.csv",
                  "results/analysis/matched/deepseek-coder-v2/code_contests.csv", "-n", "--configfile",
                  "config/config.yaml")
    outs = set(planned_outputs(r.stdout))
    # the llama-3 table on MATH reads both models' FLOPs and prices; DeepSeek's own table its FLOPs and price
    for m in ("llama-3-8b-instruct", "llama-3-70b-instruct"):
        assert {f"results/analysis/flops/{m}/math.csv", f"results/analysis/cost/{m}/math.csv"} <= outs
    assert {"results/analysis/flops/deepseek-coder-v2-instruct/code_contests.csv",
            "results/analysis/cost/deepseek-coder-v2-instruct/code_contests.csv"} <= outs
    assert not any("/pythia" in o or "/gemma" in o for o in outs)


def test_a_model_without_family_gets_its_own_matched_table(tmp_path):
    wd = copy_workflow(tmp_path / "wf")
    cfg = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    del cfg["models"]["gemma-2b"]["family"]
    path = write_config(wd, cfg, "nofamily.yaml")
    r = snakemake(wd, "-n", "--quiet", "rules", "--configfile", str(path))
    assert job_counts(r.stdout)["matched"] == PAPER_COUNTS["matched"]   # gemma was a family of one already
    r = snakemake(wd, "results/analysis/matched/gemma-2b/minif2f_math.csv", "-n", "--configfile", str(path))
    outs = planned_outputs(r.stdout)
    assert "results/analysis/flops/gemma-2b/minif2f_math.csv" in outs
    assert not any("llama" in o for o in outs)


# ---- forecasts from finished shards (issue 15) ----
def _write_verdicts(root, model, dataset, shards, n_problems=60, per_shard=25, seed=0):
    """Verified shards in the verdict contract's layout (problem_id, sample_index, correct, status)."""
    rng = np.random.default_rng(seed)
    p = rng.beta(0.4, 4.0, n_problems)
    for s in shards:
        idx = np.arange(s * per_shard, (s + 1) * per_shard)
        ok = rng.random((n_problems, per_shard)) < p[:, None]
        df = pd.DataFrame({"problem_id": np.repeat([f"q{i}" for i in range(n_problems)], per_shard),
                           "sample_index": np.tile(idx, n_problems), "correct": ok.reshape(-1)})
        df["status"] = np.where(df["correct"], "correct", "wrong")
        write_parquet(df, root / model / dataset / f"{s}.parquet")


def test_forecast_from_finished_shards(tmp_path):
    cfg = _config(throughput_tok_s={"llama": 1000.0})
    _write_verdicts(tmp_path, "small", "gsm8k", [0, 1])           # 2 of 4 shards of 25
    _write_verdicts(tmp_path, "small", "math", [0, 1, 2, 3], per_shard=50)  # all 4 shards of 50
    fc = plan.build_forecast(cfg, tmp_path)
    r = fc.set_index(["model", "dataset"])
    g = r.loc[("small", "gsm8k")]
    assert (g.shards_done, g.samples_done, g.samples_target, g.kind) == (2, 50, 100, "forecast")
    assert g.forecast_low <= g.forecast_at_target <= g.forecast_high
    assert g.forecast_at_target >= g.coverage_now and g.next_shard_gain > 0
    # one shard's GPU-hours from the throughput table: 60 problems × 25 samples × 512 tokens × fill 0.25 / 1000
    assert g.next_shard_gpu_hours == pytest.approx(60 * 25 * 512 * 0.25 / 1000 / 3600)
    assert g.gain_per_gpu_hour == pytest.approx(g.next_shard_gain / g.next_shard_gpu_hours)
    m = r.loc[("small", "math")]
    assert m.kind == "exact" and m.forecast_at_target == pytest.approx(m.coverage_now)
    assert "all shards done" in m.note
    assert r.loc[("big", "gsm8k")].note == "no verified shard yet"
    text = plan.format_forecast(fc)
    assert "small × gsm8k: 2 shards, 50 samples/problem" in text and "at K=100 (forecast, " in text
    assert "points/GPU-h" in text and "big × gsm8k: no verified shard yet" in text


def test_run_plan_writes_forecast_csv(tmp_path, capsys):
    cfg = _config(throughput_tok_s={"llama": 1000.0})
    _write_verdicts(tmp_path / "v", "small", "gsm8k", [0])
    plan.run_plan(cfg, None, None, tmp_path / "plan.csv", None, tmp_path / "v", tmp_path / "forecast.csv")
    fc = pd.read_csv(tmp_path / "forecast.csv")
    assert list(fc.columns) == plan.FORECAST_COLUMNS and len(fc) == 3
    assert "forecasts from finished shards" in capsys.readouterr().out
