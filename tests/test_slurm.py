"""A real SLURM: the loopback single-node cluster of tests/slurm/cluster.sh (partitions cpu and gpu, one gres
GPUs with File=/dev/null,/dev/zero), driven by `snakemake --executor slurm --profile profiles/ci-slurm`.

Every check reads SLURM's own records (scontrol's job record, the jobcomp/filetxt completion log), not
Snakemake's. The workflow is tests/slurm/mini/Snakefile, whose rules carry the real rule names so the CI
profile routes them as it routes the real workflow. Three runs go at once to keep the file fast:
  local  - the same DAG with --cores 2 (the reference results),
  main   - shards 0,1 and one search_strategy job on SLURM,
  kill    - shards 0,1,2 on SLURM with --keep-going; generate shard 2 is scancel'ed mid-write; then
            `rerun` finishes the DAG,
  timeout - shard 1 on SLURM; its verify job overruns its 1-minute first-attempt limit and is retried.
SLURM missing is a failure, never a skip.
"""

from __future__ import annotations

import os
import re
import subprocess
import time

import pandas as pd
import pytest

from infscale import config as infscale_config
from infscale.io import write_parquet
from slurm import harness  # tests/slurm/harness.py (tests/ is on sys.path: pytest's rootdir-based import)

MINI = harness.REPO / "tests" / "slurm" / "mini" / "Snakefile"
REPO_CFG = {"repo": harness.REPO}
# the rules that start a model on its engine, which both SLURM profiles route to the GPU partition (one list,
# imported by the profiles too)
GPU_RULES = set(infscale_config.GPU_RULES)


@pytest.fixture(scope="session")
def slurm_cluster():
    try:
        started = harness.start_cluster()
    except harness.SlurmMissing as e:
        pytest.fail(str(e), pytrace=False)
    yield harness.STATE
    if started:
        harness.stop_cluster()


def _kill_when_writing(run: harness.Run, shard: int, deadline: float) -> int:
    """Wait until generate_shard `shard` is half-way through its atomic write, then scancel its SLURM job."""
    samples = run.workdir / "out" / "samples"
    while time.monotonic() < deadline:
        tmp = list(samples.glob(f".{shard}.parquet.*.tmp")) if samples.exists() else []
        jobs = [j for j in harness.running_jobs(run.workdir)
                if j["state"] == "RUNNING" and j["comment"] == f"rule_generate_shard_wildcards_{shard}"]
        if tmp and jobs:
            subprocess.run(["scancel", str(jobs[0]["id"])], check=True, env=harness.snakemake_env())
            return jobs[0]["id"]
        if run.poll() is not None:
            raise AssertionError("fault run ended before shard was killed:\n" + run.log[-3000:])
        time.sleep(0.5)
    raise AssertionError("generate shard never started writing:\n" + run.log[-3000:])


@pytest.fixture(scope="module")
def runs(slurm_cluster, tmp_path_factory):
    base = tmp_path_factory.mktemp("slurm")
    budget = time.monotonic() + 420
    started: list[harness.Run] = []
    try:
        yield _runs(base, budget, started)
    finally:
        # a failed fixture must not leave jobs holding the cluster's GPUs for the next session
        for r in started:
            if r.poll() is None:
                r.proc.kill()
            for j in harness.running_jobs(r.workdir):
                subprocess.run(["scancel", str(j["id"])], env=harness.snakemake_env())


def _runs(base, budget, started):
    def wait(r):
        return r.wait(max(1, budget - time.monotonic()))

    def start(*a, **k):
        started.append(harness.snakemake_slurm(*a, **k))
        return started[-1]

    # the timeout run is the longest (a 1-minute limit, then a 62 s retry), so it goes first; it starts from an
    # existing samples file, so that its verify job is the first thing it runs
    write_parquet(pd.DataFrame({"problem_id": ["p0", "p1"], "sample_index": [1, 1], "text": ["a 7", "b"]}),
                  base / "timeout" / "out" / "samples" / "1.parquet")
    timeout = start(base / "timeout", MINI, targets=["out/verdicts/1.parquet"],
                    config={**REPO_CFG, "shards": "[1]", "timeout_shard": 1})
    local = start(base / "local", MINI, executor=None, profile=None,
                  config={**REPO_CFG, "shards": "[0,1,2]"}, extra=["--cores", "2"])
    # main also runs one search_strategy job: a search job is routed like generation (profiles' GPU_RULES)
    main = start(base / "main", MINI, config={**REPO_CFG, "shards": "[0,1]", "search": "true"})
    # group-components would bundle verify 0, 1 and 2 into one job that waits for all three inputs, so a
    # failed generate_shard 2 would hold back 0 and 1 as well; one component per group shows --keep-going
    kill_cfg = {**REPO_CFG, "shards": "[0,1,2]"}
    kill_args = ["--group-components", "verify=1"]
    kill = start(base / "kill", MINI, config={**kill_cfg, "slow_shard": 2}, extra=kill_args)
    killed = _kill_when_writing(kill, 2, budget)
    wait(kill)
    # what is left right after the failed run: hidden temp files do not count, visible parquet files do
    after_kill = sorted(p.name for p in (kill.workdir / "out").rglob("*.parquet") if not p.name.startswith("."))
    rerun = start(base / "kill", MINI, config=kill_cfg, extra=kill_args, logname="rerun.out")
    for r in (local, main, rerun, timeout):
        wait(r)
    return {"local": local, "main": main, "kill": kill, "rerun": rerun, "timeout": timeout,
            "killed": killed, "after_kill": after_kill}


def _read(run, rel):
    return pd.read_parquet(run.workdir / "out" / rel)


def test_cluster_gives_a_gpu_job_its_gpu(slurm_cluster):
    r = subprocess.run(["sbatch", "--wait", "--parsable", "-p", "gpu", "--gres=gpu:1", "-t", "1", "-o", "/dev/null",
                        "--wrap", "srun printenv CUDA_VISIBLE_DEVICES > /dev/null"],
                       capture_output=True, text=True, timeout=120, env=harness.snakemake_env())
    assert r.returncode == 0, r.stderr
    rec = harness.scontrol_job(int(r.stdout.strip().split(";")[0]))
    assert (rec["Partition"], rec["JobState"], rec["JOB_GRES"]) == ("gpu", "COMPLETED", "gpu:1")


def test_generation_runs_in_gpu_partition_with_a_gpu(runs):
    main = runs["main"]
    assert main.returncode == 0, main.log[-3000:]
    recs = harness.slurm_jobs(main.slurm_jobids)
    gen = {j: r for j, r in recs.items() if r.get("Comment", "").startswith("rule_generate_shard")}
    assert len(gen) == 2, recs
    for rec in gen.values():
        assert rec["Partition"] == "gpu" and rec["JobState"] == "COMPLETED"
        assert rec["JOB_GRES"] == "gpu:1", rec
        assert "gpu:1" in rec.get("TresPerJob", "") + rec.get("TresPerNode", ""), rec
    # what the job itself saw: SLURM exported the allocated device
    for shard in (0, 1):
        env = pd.read_json(main.workdir / "out" / "env" / f"generate_shard_{shard}.json", typ="series")
        assert str(env["cuda_visible_devices"]) in {"0", "1"}
        assert env["attempt_runtime"] == 2


def test_search_runs_in_gpu_partition_with_a_gpu(runs):
    main = runs["main"]
    assert main.returncode == 0, main.log[-3000:]
    recs = harness.slurm_jobs(main.slurm_jobids)
    search = [r for r in recs.values() if r.get("Comment", "") == "rule_search_strategy_wildcards_best_of_n"]
    assert len(search) == 1, recs
    rec = search[0]
    assert (rec["Partition"], rec["JobState"], rec["JOB_GRES"]) == ("gpu", "COMPLETED", "gpu:1"), rec
    assert "gpu:1" in rec.get("TresPerJob", "") + rec.get("TresPerNode", ""), rec
    env = pd.read_json(main.workdir / "out" / "env" / "search_strategy_best_of_n.json", typ="series")
    assert str(env["cuda_visible_devices"]) in {"0", "1"}


def test_verification_runs_grouped_in_cpu_partition(runs):
    main = runs["main"]
    recs = harness.slurm_jobs(main.slurm_jobids)
    ver = [r for r in recs.values() if "verify" in r.get("Comment", "")]
    # the two verify jobs were bundled into one SLURM job (group-components) in the cpu partition, no GPU
    assert len(ver) == 1, recs
    assert ver[0]["Partition"] == "cpu" and ver[0]["JobState"] == "COMPLETED"
    assert ver[0]["JOB_GRES"] == "(null)"
    for shard in (0, 1):
        env = pd.read_json(main.workdir / "out" / "env" / f"verify_shard_{shard}.json", typ="series")
        assert env["cuda_visible_devices"] is None or pd.isna(env["cuda_visible_devices"])
    # merge_shards is a localrule: never submitted
    assert not any("merge" in r.get("Comment", "") for r in recs.values())
    # every submission is in SLURM's completion log too
    comp = {int(r["JobId"]): r for r in harness.jobcomp_records(main.slurm_jobids)}
    assert set(comp) == set(main.slurm_jobids)
    assert {r["Partition"] for r in comp.values()} == {"gpu", "cpu"}


def test_slurm_results_equal_local_run(runs):
    local, main = runs["local"], runs["main"]
    assert local.returncode == 0, local.log[-3000:]
    for shard in (0, 1):
        pd.testing.assert_frame_equal(_read(main, f"samples/{shard}.parquet"), _read(local, f"samples/{shard}.parquet"))
        pd.testing.assert_frame_equal(_read(main, f"verdicts/{shard}.parquet"), _read(local, f"verdicts/{shard}.parquet"))
    assert len(_read(main, "merged.parquet")) == 10


def test_killed_generate_job_leaves_nothing_and_keep_going_finishes_the_rest(runs):
    faults = runs["kill"]
    assert faults.returncode != 0
    assert harness.scontrol_job(runs["killed"])["JobState"] == "CANCELLED"
    # shard 2's output never appeared; shards 0 and 1 went all the way through verification
    assert runs["after_kill"] == ["0.parquet", "0.parquet", "1.parquet", "1.parquet"]
    assert "2.parquet" not in runs["after_kill"]


def test_rerun_after_kill_matches_an_uninterrupted_run(runs):
    rerun, local = runs["rerun"], runs["local"]
    assert rerun.returncode == 0, rerun.log[-3000:]
    # only the killed shard's chain was redone
    comments = [harness.scontrol_job(j).get("Comment", "") for j in rerun.slurm_jobids]
    assert comments.count("rule_generate_shard_wildcards_2") == 1
    assert len(comments) == 2, comments  # generate 2 and verify 2
    assert not any(c.endswith(("_wildcards_0", "_wildcards_1")) for c in comments)
    pd.testing.assert_frame_equal(_read(rerun, "samples/2.parquet"), _read(local, "samples/2.parquet"))
    pd.testing.assert_frame_equal(_read(rerun, "merged.parquet"), _read(local, "merged.parquet"))


def test_verify_over_its_time_limit_is_retried_with_more_time(runs):
    faults = runs["timeout"]
    assert faults.returncode == 0, faults.log[-3000:]
    comp = harness.jobcomp_records(faults.slurm_jobids)
    timed_out = [r for r in comp if r["JobState"] == "TIMEOUT"]
    assert len(timed_out) == 1, comp
    assert timed_out[0]["Partition"] == "cpu" and timed_out[0]["TimeLimit"] == "1"
    first = int(timed_out[0]["JobId"])
    retry = [r for r in comp if int(r["JobId"]) > first and r["Partition"] == "cpu" and r["JobState"] == "COMPLETED"
             and r["TimeLimit"] == "2"]
    assert len(retry) == 1, comp
    env = pd.read_json(faults.workdir / "out" / "env" / "verify_shard_1.json", typ="series")
    assert env["attempt_runtime"] == 2
    assert (faults.workdir / "out" / "verdicts" / "1.parquet").exists()


def _render_profile(name, env, monkeypatch):
    import yte
    for k in ("INFSCALE_GPU_PARTITION", "INFSCALE_CPU_PARTITION", "INFSCALE_SLURM_ACCOUNT", "INFSCALE_CPUS_PER_GPU",
              "INFSCALE_GPU_MODEL"):
        monkeypatch.delenv(k, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    with open(harness.REPO / "profiles" / name / "config.yaml") as f:
        return yte.process_yaml(f, require_use_yte=True)


def test_slurm_profile_takes_site_details_from_the_environment(monkeypatch):
    p = _render_profile("slurm", {"INFSCALE_GPU_PARTITION": "a100", "INFSCALE_CPU_PARTITION": "short",
                                  "INFSCALE_SLURM_ACCOUNT": "proj1", "INFSCALE_CPUS_PER_GPU": "12"}, monkeypatch)
    assert p["executor"] == "slurm" and p["retries"] >= 1
    for rule in GPU_RULES:
        assert p["set-resources"][rule]["slurm_partition"] == "a100"
        assert p["set-resources"][rule]["cpus_per_gpu"] == 12
        assert "gpu" not in p["set-resources"][rule]  # the rule's tensor_parallel decides
        assert "gpu_model" not in p["set-resources"][rule]
    assert p["set-resources"]["verify_shard"]["slurm_partition"] == "short"
    assert p["default-resources"]["slurm_partition"] == "short"
    assert p["default-resources"]["slurm_account"] == "proj1" and "slurm-no-account" not in p
    assert "attempt" in p["default-resources"]["runtime"]
    assert p["groups"]["verify_shard"] in p["group-components"]
    bare = _render_profile("slurm", {}, monkeypatch)
    assert {r for r in GPU_RULES if bare["set-resources"][r]["slurm_partition"] == "gpu"} == GPU_RULES
    assert bare["default-resources"]["slurm_partition"] == "cpu"
    assert "slurm_account" not in bare["default-resources"] and bare["slurm-no-account"] is True


def test_slurm_profile_passes_the_gpu_model_to_every_gpu_rule(monkeypatch):
    p = _render_profile("slurm", {"INFSCALE_GPU_MODEL": "a100"}, monkeypatch)
    assert {r for r, res in p["set-resources"].items() if res.get("gpu_model") == "a100"} == GPU_RULES


def _dry_run_gpus(output: str) -> list[tuple[str, str, int]]:
    """(rule, model, gpu resource) of every job in a dry run's job list."""
    jobs, rule, model = [], None, None
    for line in output.splitlines():
        if m := re.match(r"^(?:local)?rule (\S+):$", line):
            rule, model = m.group(1), None
        elif m := re.match(r"^\s+wildcards: .*\bmodel=([^,\s]+)", line):
            model = m.group(1)
        elif line.strip().startswith("resources:") and rule:
            gpu = re.search(r"\bgpu=(\d+)", line)
            jobs.append((rule, model, int(gpu.group(1)) if gpu else 0))
    return jobs


def test_every_gpu_rule_takes_its_model_gpus_and_both_profiles_route_it(tmp_path, monkeypatch):
    """The real Snakefile planned with search and a judge verifier on, one model at tensor_parallel 2: every job
    that asks for GPUs asks for its own model's count, and the rules that ask are exactly the profiles' GPU rules
    (so each one lands in the GPU partition)."""
    import yaml
    from workflow_helpers import ROOT, copy_workflow, snakemake, write_config

    wd = copy_workflow(tmp_path / "wf")
    cfg = yaml.safe_load((ROOT / "config" / "demo.yaml").read_text())
    tp = {m: 1 for m in cfg["models"]}
    tp["smollm2-135m"] = 2
    cfg["models"]["smollm2-135m"]["tensor_parallel"] = 2
    cfg["score"] = {"verifiers": {"judge": {"kind": "judge"}}}
    targets = ["search_all"] + [f"results/scored/{m}/gsm8k.parquet" for m in cfg["models"]]
    r = snakemake(wd, *targets, "-n", "--configfile", str(write_config(wd, cfg)))
    jobs = _dry_run_gpus(r.stdout)
    assert {rule for rule, _, _ in jobs} >= GPU_RULES | {"verify_shard", "search_verify"}, jobs
    gpu_jobs = [(rule, model, n) for rule, model, n in jobs if n]
    assert {rule for rule, _, _ in gpu_jobs} == GPU_RULES
    assert all(n == tp[model] for _, model, n in gpu_jobs), gpu_jobs
    assert {model for _, model, _ in gpu_jobs} == set(tp)
    for name in ("slurm", "ci-slurm"):
        p = _render_profile(name, {}, monkeypatch)
        assert {r for r, res in p["set-resources"].items() if res.get("slurm_partition") == "gpu"} == GPU_RULES
    # openai-only scoring starts no engine here: no GPU
    cfg["score"] = {"verifiers": {"gpt": {"kind": "openai"}}}
    from infscale import score as S
    assert S.gpus(cfg, "smollm2-135m") == 0
    cfg["score"] = {"verifiers": {"gpt": {"kind": "openai"}, "prm": {"kind": "pooling"}}}
    assert S.gpus(cfg, "smollm2-135m") == 2


def test_real_workflow_on_slurm_routes_jobs_and_matches_the_local_run(slurm_cluster, tiny_run, tmp_path):
    """The real Snakefile on the tiny demo config through --executor slurm: generation in the gpu partition
    with a GPU, verification in cpu, and the same samples and verdicts as the local run (seeds depend only on
    the sample's identity)."""
    from workflow_helpers import copy_workflow

    local_wd, cfg, cfg_path = tiny_run
    wd = copy_workflow(tmp_path / "wf")
    (wd / "results").mkdir()
    # The converted model is reused (its conversion is covered by the local run); everything else runs here.
    os.symlink(local_wd / "results" / "models", wd / "results" / "models")
    pairs = [("smollm2-135m", d) for d in cfg["datasets"]]
    targets = [f"results/merged/{m}/{d}.parquet" for m, d in pairs]
    run = harness.snakemake_slurm(wd, wd / "Snakefile", configfile=cfg_path, targets=targets,
                                  extra=["--group-components", "verify=4"])
    try:
        assert run.wait(900) == 0, run.log[-4000:]
    finally:
        for j in harness.running_jobs(wd):
            subprocess.run(["scancel", str(j["id"])], env=harness.snakemake_env())
    jobs = harness.slurm_jobs(run.slurm_jobids)
    gen = [j for j in jobs.values() if j.get("Comment", "").startswith("rule_generate_shard")]
    ver = [j for j in jobs.values() if "verify" in j.get("Comment", "")]
    assert len(gen) == 4 and all(j["Partition"] == "gpu" and "gpu:1" in j.get("JOB_GRES", "") for j in gen), gen
    assert ver and all(j["Partition"] == "cpu" and "gpu" not in j.get("JOB_GRES", "(null)") for j in ver), ver
    for t in targets:
        slurm, local = pd.read_parquet(wd / t), pd.read_parquet(local_wd / t)
        pd.testing.assert_frame_equal(slurm.drop(columns=["verify_ms"]), local.drop(columns=["verify_ms"]))
