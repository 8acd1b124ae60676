"""A job's params are exactly what its output depends on (issue 14, item 3), tested with real dry-runs of the real
Snakefile and no generation: every output of the tiny demo config is stood in by an empty file and recorded by
`snakemake --touch --forceall`, which stores each job's params in .snakemake/metadata exactly as a real run does. Then each
documented config key is changed and `snakemake -n` must plan only the jobs whose output depends on it.
"""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from infscale import config as C
from workflow_helpers import ROOT, copy_workflow, job_counts, planned_outputs, snakemake, write_config, tiny_config

FILE_SUFFIXES = {".parquet", ".csv", ".png", ".jsonl", ".json", ".tsv", ".txt", ".html"}
DEMO = yaml.safe_load((ROOT / "config" / "demo.yaml").read_text())
MODEL, OTHER = "smollm2-135m", "smollm2-135m-t1"


@pytest.fixture(scope="module")
def touched(tmp_path_factory):
    """(workdir, config): every output of the tiny config plus the demo's second model (on gsm8k only) present and
    recorded with its params."""
    wd = copy_workflow(tmp_path_factory.mktemp("params"))
    cfg = tiny_config(DEMO)
    cfg["models"][OTHER] = DEMO["models"][OTHER]
    path = write_config(wd, cfg)
    for out in planned_outputs(snakemake(wd, "-n", "--configfile", str(path)).stdout):
        p = wd / out
        if p.suffix in FILE_SUFFIXES:
            p.parent.mkdir(parents=True, exist_ok=True)
            p.touch()
        else:  # directory() outputs: the converted checkpoint
            p.mkdir(parents=True, exist_ok=True)
    # --forceall: record every job (a plain --touch skips jobs whose outputs are already there), oldest first
    snakemake(wd, "--touch", "--forceall", "--configfile", str(path))
    assert job_counts(snakemake(wd, "-n", "--configfile", str(path)).stdout) == {}
    return wd, cfg


def plan(wd: Path, cfg: dict, name: str, sort_keys: bool = False) -> tuple[dict, list[str]]:
    path = wd / "config" / name
    path.write_text(yaml.safe_dump(cfg, sort_keys=sort_keys))
    r = snakemake(wd, "-n", "--configfile", str(path))
    return job_counts(r.stdout), planned_outputs(r.stdout)


def _reversed(value):
    if isinstance(value, dict):
        return {k: _reversed(value[k]) for k in reversed(list(value))}
    return value


def test_canonical_sorts_keys_at_any_depth():
    a = {"b": {"y": 1, "x": [{"q": 1, "p": 2}]}, "a": 0}
    assert repr(C.canonical(a)) == repr(C.canonical(_reversed(a))) == "{'a': 0, 'b': {'x': [{'p': 2, 'q': 1}], 'y': 1}}"
    assert C.canonical(a) == a  # same content


def test_same_content_in_sorted_key_order_reruns_nothing(touched):
    wd, cfg = touched
    # yaml.safe_dump(sort_keys=True) is what a YAML library writing the config back does (issue 14)
    assert plan(wd, cfg, "sorted.yaml", sort_keys=True)[0] == {}


def test_reversed_key_order_reruns_nothing(touched):
    wd, cfg = touched
    # every mapping reversed at every depth, `models:` included: the cross-model jobs (matched, allocate, report)
    # list their models in name order (layout.models_on), so nothing reruns
    assert plan(wd, _reversed(cfg), "reversed.yaml")[0] == {}


@pytest.mark.parametrize("key", ["defaults.samples", "datasets.gsm8k.samples"])
def test_raising_k_adds_only_new_shards(touched, key):
    wd, cfg = touched
    more = copy.deepcopy(cfg)
    node = more
    *parents, leaf = key.split(".")
    for p in parents:
        node = node[p]
    node[leaf] = 12
    counts, outs = plan(wd, more, "k.yaml")
    pairs = [(m, d) for m, d in C.pairs(cfg) if d == "gsm8k" or not key.startswith("datasets.")]
    assert counts["generate_shard"] == counts["verify_shard"] == len(pairs)  # shard 2 of each
    assert counts["merge_shards"] == len(pairs)
    assert "prepare_problems" not in counts and "prepare_model" not in counts
    shards = [o for o in outs if o.startswith(("results/samples/", "results/verdicts/"))]
    assert shards and all(o.endswith("/2.parquet") for o in shards), shards
    if key.startswith("datasets."):
        assert not any("math500" in o for o in outs)


@pytest.mark.parametrize("key", ["defaults.sampling", "datasets.gsm8k.sampling", f"models.{MODEL}.sampling"])
def test_sampling_change_reruns_generation_and_later_only(touched, key):
    wd, cfg = touched
    more = copy.deepcopy(cfg)
    node = more
    for p in key.split("."):
        node = node.setdefault(p, {})
    node["temperature"] = 0.3
    counts, outs = plan(wd, more, "sampling.yaml")
    # the other model sets its own temperature, which wins over defaults and the dataset's entry
    pairs = [(m, d) for m, d in C.pairs(cfg) if m == MODEL and (d == "gsm8k" or not key.startswith("datasets."))]
    assert counts["generate_shard"] == counts["verify_shard"] == 2 * len(pairs)
    assert not any(f"/{OTHER}/" in o for o in outs)
    assert "prepare_problems" not in counts and "prepare_model" not in counts
    if key.startswith("datasets."):
        assert not any("math500" in o for o in outs)


@pytest.mark.parametrize("entry", [{"rel_tol": 1e-3}, {"abs_tol": 1e-6}, {"timeout_s": 7}, {"extraction": "lenient"},
                                   {"cache": False}])
def test_verifier_change_reruns_verification_and_later_only(touched, entry):
    wd, cfg = touched
    more = copy.deepcopy(cfg)
    more["datasets"]["math500"]["verifier"] = entry
    counts, outs = plan(wd, more, "verifier.yaml")
    assert counts["verify_shard"] == 2 and counts["merge_shards"] == 1
    assert "generate_shard" not in counts and "prepare_problems" not in counts and "prepare_model" not in counts
    assert not any("gsm8k" in o for o in outs)


def test_plan_runs_without_cores(tmp_path):
    wd = copy_workflow(tmp_path)
    write_config(wd, tiny_config(DEMO))
    # `snakemake plan` with no --cores (the workflow profile profiles/default gives it), as the README shows it
    r = subprocess.run([sys.executable, "-m", "snakemake", "plan", "--configfile", "config/test.yaml"],
                       cwd=wd, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert (wd / "results/plan/plan.csv").exists()


def test_shared_verify_settings(touched):
    wd, cfg = touched
    # how many threads is not what they decide: nothing reruns
    assert plan(wd, {**cfg, "verify": {"threads": 7}}, "verify_threads.yaml")[0] == {}
    # a shared verifier setting reaches every dataset's verification, and nothing before it
    counts, _ = plan(wd, {**cfg, "verify": {"sandbox": {"limits": {"wall_s": 3}}}}, "verify_sandbox.yaml")
    assert counts["verify_shard"] == 2 * len(C.pairs(cfg)) and counts["merge_shards"] == len(C.pairs(cfg))
    assert "generate_shard" not in counts and "prepare_problems" not in counts
