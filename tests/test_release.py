"""Released samples (infscale.release): the release layout in, the standard contracts out; bad layouts stop
with one line and write nothing; token counts from a real tokenizer; re-verification with the real math
verifier; the real Snakefile at paper shape (140 problems × 10⁴ samples) through import → coverage → fits →
paper-comparison table."""

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import yaml

from infscale import config as C
from infscale import io, release
from infscale.contracts import MERGED_COLUMNS, SAMPLE_COLUMNS, VERDICT_COLUMNS
from infscale.coverage import coverage_table
from release_fixture import release_table, write_problems, write_release, write_tokenizer
from workflow_helpers import ROOT, copy_workflow, job_counts, snakemake, write_config


def _job(path, samples=4, per_shard=2, **kw):
    return {"model": "m", "dataset": "d", "release": {"path": str(path)}, "samples": samples,
            "samples_per_shard": per_shard, **kw}


def _outs(tmp_path, shards=2):
    return ([str(tmp_path / "out" / "samples" / f"{s}.parquet") for s in range(shards)],
            [str(tmp_path / "out" / "verdicts" / f"{s}.parquet") for s in range(shards)],
            str(tmp_path / "out" / "merged.parquet"))


def _problems(tmp_path, n=10):
    p = tmp_path / "problems.parquet"
    io.write_parquet(pd.DataFrame({"problem_id": [str(i) for i in range(n)], "question": [f"What is {i} + 1?"
                                   for i in range(n)], "domain": "math", "reference": [str(i + 1) for i in range(n)]}), p)
    return str(p)


# `python -m infscale` in a bare environment: the library comes from the install (`make deps`), or from
# PYTHONPATH when the caller sets one (a worktree sharing another checkout's venv).
_BARE_ENV = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "PATH": "/usr/bin:/bin",
             **{k: os.environ[k] for k in ("PYTHONPATH",) if k in os.environ}}

SMALL = [  # release layout, ids not in row order (orig_dset_idx is the join key, not the row number)
    {"question": "What is 7 + 1?", "gt_answer": "8", "orig_dset_idx": 7,
     "samples": ["#### 8", "", "#### 9", "The final answer is $8$. I hope it is correct."],
     "is_corrects": [True, False, False, True]},
    {"question": "What is 2 + 1?", "gt_answer": "3", "orig_dset_idx": 2,
     "samples": ["no", "no", "no", "no"], "is_corrects": [False, False, False, False]},
    {"question": "What is 5 + 1?", "gt_answer": "6", "orig_dset_idx": 5,
     "samples": ["#### 6", "", "#### 6", "#### 6"], "is_corrects": [False, False, True, True]},
]


@pytest.mark.parametrize("layout", ["disk", "json", "parquet"])
def test_import_writes_the_standard_contracts(tmp_path, layout):
    path = write_release(pa.Table.from_pylist(SMALL), tmp_path / f"rel.{layout}", layout)
    sp, vp, mp = _outs(tmp_path)
    merged = release.import_release(_job(path), _problems(tmp_path), sp, vp, mp)
    back = io.read_parquet(mp)
    assert list(back.columns[:len(MERGED_COLUMNS)]) == MERGED_COLUMNS and len(back) == 12
    s0, v1 = io.read_parquet(sp[0]), io.read_parquet(vp[1])
    assert list(s0.columns) == SAMPLE_COLUMNS and list(v1.columns[:len(VERDICT_COLUMNS)]) == VERDICT_COLUMNS
    assert sorted(s0["sample_index"].unique()) == [0, 1] and sorted(v1["sample_index"].unique()) == [2, 3]
    row = s0[(s0["problem_id"] == "7") & (s0["sample_index"] == 0)].iloc[0]
    assert row["text"] == "#### 8" and pd.isna(row["prompt_tokens"])
    got = back.set_index(["problem_id", "sample_index"])["correct"]
    assert got[("7", 3)] and not got[("7", 2)] and got[("5", 2)] and not got[("2", 0)]
    assert set(back["verifier"]) == {"release"} and set(back["status"]) == {"correct", "wrong"}
    assert back["shard"].tolist() == (back["sample_index"] // 2).tolist()
    assert coverage_table(back, n_boot=10)["coverage"].tolist() == pytest.approx([
        (2 / 4 + 0 + 2 / 4) / 3, (1 - 1 / 6 + 0 + 1 - 1 / 6) / 3, (1 - 0 + 0 + 1) / 3, 2 / 3])
    assert merged["problem_id"].tolist() == back["problem_id"].tolist()


def test_more_released_samples_than_the_config_asks_keep_the_first(tmp_path):
    path = write_release(pa.Table.from_pylist(SMALL), tmp_path / "rel", "disk")
    sp, vp, mp = _outs(tmp_path, shards=1)
    back = release.import_release(_job(path, samples=2, per_shard=2), None, sp, vp, mp)
    assert sorted(back["sample_index"].unique()) == [0, 1] and len(back) == 6


def _bad(tmp_path, what):
    rows = json.loads(json.dumps(SMALL))
    if what == "is_corrects missing":
        for r in rows:
            del r["is_corrects"]
    elif what == "lengths differ":
        rows[1]["is_corrects"] = rows[1]["is_corrects"][:3]
    elif what == "duplicate ids":
        rows[2]["orig_dset_idx"] = 7
    elif what == "unknown id":
        rows[0]["orig_dset_idx"] = 70
    elif what == "too few samples":
        rows[1]["samples"], rows[1]["is_corrects"] = rows[1]["samples"][:1], rows[1]["is_corrects"][:1]
    if what == "column-oriented JSON":
        p = tmp_path / "rel.json"
        p.write_text(json.dumps({k: [r[k] for r in rows] for k in rows[0]}))
        return p
    return write_release(pa.Table.from_pylist(rows), tmp_path / "rel", "disk")


@pytest.mark.parametrize("what,message", [
    ("is_corrects missing", "release lacks is_corrects"),
    ("lengths differ", "problem 2: 4 samples but 3 is_corrects"),
    ("duplicate ids", "duplicate orig_dset_idx 7"),
    ("column-oriented JSON", "a JSON object of columns"),
    ("unknown id", "orig_dset_idx 70 .* not among the problem ids of d"),
    ("too few samples", "problem 2 has 1 samples; the config asks for 4"),
])
def test_bad_release_is_one_line_and_writes_nothing(tmp_path, what, message):
    path = _bad(tmp_path, what)
    sp, vp, mp = _outs(tmp_path)
    with pytest.raises(release.ReleaseError, match=message) as e:
        release.import_release(_job(path), _problems(tmp_path), sp, vp, mp)
    assert "\n" not in str(e.value)
    assert not (tmp_path / "out").exists()


def test_cli_reports_one_line(tmp_path, monkeypatch):
    """python -m infscale import-release: one `infscale: ...` line, exit 1, nothing written."""
    path = _bad(tmp_path, "lengths differ")
    cfg = {"datasets": {"d": {"source": {"path": "p.jsonl"}, "domain": "math", "samples": 4, "samples_per_shard": 2}},
           "models": {"m": {"source": {"hf": "none/none"}, "releases": {"d": {"path": str(path)}}}}}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    (tmp_path / "results" / "problems").mkdir(parents=True)
    io.write_parquet(io.read_parquet(_problems(tmp_path)), tmp_path / "results" / "problems" / "d.parquet")
    r = subprocess.run([sys.executable, "-m", "infscale", "import-release", "--config", "c.yaml", "--model", "m",
                        "--dataset", "d"], cwd=tmp_path, capture_output=True, text=True,
                       env=_BARE_ENV)
    assert r.returncode == 1 and r.stderr.strip().splitlines()[-1].startswith("infscale: release m/d")
    assert not (tmp_path / "results" / "merged").exists() and not (tmp_path / "results" / "samples").exists()
    cfg["models"]["m"]["releases"]["d"]["path"] = str(write_release(pa.Table.from_pylist(SMALL), tmp_path / "ok", "disk"))
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    r = subprocess.run(r.args, cwd=tmp_path, capture_output=True, text=True,
                       env=_BARE_ENV)
    assert r.returncode == 0, r.stderr
    assert len(io.read_parquet(tmp_path / "results" / "merged" / "m" / "d.parquet")) == 12
    assert (tmp_path / "results" / "verdicts" / "m" / "d" / "1.parquet").exists()


def test_token_counts_from_the_named_tokenizer(tmp_path):
    tok_dir = write_tokenizer(tmp_path / "tok")
    cfg = {"models": {"m": {"source": {"hf": "org/m", "tokenizer": str(tok_dir)}, "releases": {"d": {"path": "x"}}},
                      "hubonly": {"source": {"hf": "org/not-cached-anywhere"}, "releases": {"d": {"path": "x"}}},
                      "gen": {"source": {"hf": "org/g"}}}}
    assert release.tokens_reason(cfg, "m", "d") is None and release.tokens_reason(cfg, "gen", "d") is None
    reason = release.tokens_reason(cfg, "hubonly", "d")
    assert "org/not-cached-anywhere" in reason and "\n" not in reason
    path = write_release(pa.Table.from_pylist(SMALL), tmp_path / "rel", "disk")
    sp, vp, mp = _outs(tmp_path)
    job = _job(path, tokenizer=str(tok_dir), prompt_cfg=C.with_defaults({}, "datasets", "*", "prompt"), chat=False)
    back = release.import_release(job, _problems(tmp_path), sp, vp, mp)
    tok = release.load_tokenizer(str(tok_dir))
    s = pd.concat([io.read_parquet(p) for p in sp])
    want = [len(tok(t, add_special_tokens=False)["input_ids"]) for t in s["text"]]
    assert s["completion_tokens"].tolist() == want and max(want) == 10 and min(want) == 0
    # plain prompt "Question: What is 7 + 1?\nAnswer:" → 7 words of the vocabulary
    assert set(back.loc[back["problem_id"] == "7", "prompt_tokens"]) == {7}
    assert back["completion_tokens"].notna().all()


def test_reverify_agreement_with_the_real_math_verifier(tmp_path):
    path = write_release(pa.Table.from_pylist(SMALL), tmp_path / "rel", "disk")
    sp, vp, mp = _outs(tmp_path)
    problems = _problems(tmp_path)
    release.import_release(_job(path), problems, sp, vp, mp)
    table = release.agreement(problems, sp, vp, {}, str(tmp_path / "agree.csv"), str(tmp_path / "dis.csv"))
    counts = {(r.correct_release, r.correct_infscale): r.samples for r in table.itertuples()}
    # the release marks 5/0 wrong although it says #### 6 (so does infscale's verifier: a disagreement)
    dis = pd.read_csv(tmp_path / "dis.csv", dtype={"problem_id": str})
    assert ("5", 0) in set(zip(dis["problem_id"], dis["sample_index"]))
    assert counts[(True, True)] == 4 and counts[(False, True)] == 1 and sum(counts.values()) == 12
    assert len(dis) == counts.get((False, True), 0) + counts.get((True, False), 0)


def test_releases_schema_and_cross_checks():
    from infscale import config as C

    cfg = C.load(ROOT / "config" / "release.yaml")
    assert release.release_pairs(cfg) and not set(release.release_pairs(cfg)) - set(C.pairs(cfg))
    bad = {**cfg, "models": {**cfg["models"], "gemma-2b": {**cfg["models"]["gemma-2b"],
                                                          "releases": {"gsm8k": {"path": "x"}}}}}
    with pytest.raises(C.ConfigError, match="'gsm8k' is not one of the model's datasets"):
        release.check_releases(bad)
    bad = {**cfg, "datasets": {**cfg["datasets"], "math": {**cfg["datasets"]["math"], "samples": 5000}}}
    with pytest.raises(C.ConfigError, match="import_release needs one layout"):
        release.check_releases(bad)


def test_release_plan_imports_every_pair_and_generates_nothing(tmp_path):
    """config/release.yaml: one import_release per released pair, no generate/verify/merge job, no ambiguity; the
    FLOPs and cost jobs are left out while no tokenizer is cached (there is no Hub here)."""
    wd = copy_workflow(tmp_path / "wf")
    r = snakemake(wd, "-n", "--configfile", "config/release.yaml")
    counts = job_counts(r.stdout)
    from infscale import config as C
    cfg = C.load(ROOT / "config" / "release.yaml")
    assert counts["import_release"] == len(release.release_pairs(cfg)) == 22
    assert not {"generate_shard", "verify_shard", "merge_shards", "flops", "cost"} & set(counts)
    assert counts["paper_comparison"] == 1 and counts["fit"] == 22


def test_report_says_why_flops_are_missing(monkeypatch, tmp_path):
    from infscale import report

    seen = []
    monkeypatch.setattr(report, "_empty", lambda path, title, why: seen.append(why))
    note = "m: no token counts for its released samples: tokenizer org/m is not in the local Hugging Face cache"
    report.fig_flops(pd.DataFrame(), {}, tmp_path / "f.png", "t", [note])
    report.fig_cost(pd.DataFrame(), tmp_path / "c.png", "t", [note])
    assert seen == [note, note]


# ---- the real Snakefile at paper shape ----------------------------------------------------------------------------

def test_workflow_paper_shape(tmp_path):
    """140 problems × 10⁴ samples (save_to_disk) plus a second model (JSON export) on the same dataset: import →
    coverage → fits → paper-comparison table, with FLOPs/cost left out (no tokenizer) and generate never planned."""
    wd = copy_workflow(tmp_path / "wf")
    n_all, ids = 300, np.sort(np.random.default_rng(1).choice(300, 140, replace=False))
    write_problems(wd / "data" / "problems.jsonl", n_all)
    write_release(release_table(140, 10_000, seed=0, ids=ids), wd / "data" / "big", "disk")
    write_release(release_table(140, 10_000, seed=1, ids=ids), wd / "data" / "big2.jsonl", "json")
    cfg = {
        "defaults": {"samples": 10_000, "samples_per_shard": 2_000},
        "models": {
            "big": {"source": {"hf": "fixture/not-cached"}, "family": "fx", "price": {"input_per_mtok": 1, "output_per_mtok": 1},
                    "datasets": ["math"], "releases": {"math": {"path": "data/big", "subset": "MATH_Llama-3-8B-Instruct"}}},
            "big2": {"source": {"hf": "fixture/not-cached-2"}, "family": "fx", "datasets": ["math"],
                     "releases": {"math": {"path": "data/big2.jsonl", "subset": "MATH_Llama-3-70B-Instruct"}}},
        },
        "datasets": {"math": {"source": {"path": "data/problems.jsonl"}, "domain": "math",
                              "fields": {"problem_id": None, "question": "question", "reference": "answer"}}},
        "report": {"paper_comparison": "resources/published/monkeys.yaml"},
    }
    reverify = {**cfg, "models": {**cfg["models"], "big2": {**cfg["models"]["big2"], "releases": {
        "math": {**cfg["models"]["big2"]["releases"]["math"], "reverify": True}}}}}
    counts = job_counts(snakemake(wd, "-n", "--configfile", str(write_config(wd, reverify, "rv.yaml"))).stdout)
    assert counts["import_release"] == 2 and counts["release_agreement"] == 1
    conf = write_config(wd, cfg)
    dry = snakemake(wd, "-n", "--configfile", str(conf))
    assert "generate_shard" not in dry.stdout and "merge_shards" not in dry.stdout
    assert "rule flops" not in dry.stdout and "rule cost" not in dry.stdout
    snakemake(wd, "results/report/paper_comparison.csv", "--configfile", str(conf))
    merged = io.read_parquet(wd / "results" / "merged" / "big" / "math.parquet")
    assert len(merged) == 1_400_000 and set(merged["problem_id"]) == {str(i) for i in ids}
    assert merged["shard"].max() == 4
    fit = pd.read_csv(wd / "results" / "analysis" / "fit" / "big" / "math.csv")
    assert np.isfinite(fit["a"]).all()
    table = pd.read_csv(wd / "results" / "report" / "paper_comparison.csv")
    ours = table[table["subset"].isin(["MATH_Llama-3-8B-Instruct", "MATH_Llama-3-70B-Instruct"])]
    fit_rows = ours[ours["claim"].str.startswith("fit")]
    assert len(fit_rows) == 4 and fit_rows["infscale"].notna().all() and fit_rows["difference"].notna().all()
    cov = ours[ours["claim"].str.startswith("coverage")]
    truth = coverage_table(merged, n_boot=10)
    assert cov["infscale"].tolist()[0] == pytest.approx(truth["coverage"].iloc[-1], abs=1e-9)


def test_release_plan_with_tokenizers_schedules_flops_cost_and_matched(tmp_path):
    """With each model's tokenizer at hand, the release plan makes the paper's FLOPs- and dollar-matched
    comparisons: FLOPs for every released pair (every model has a shape), cost for the priced Llama-3 Instruct
    pairs, one matched table per family and task, and the paper comparison reads the Llama-3 tables."""
    from infscale import config as C
    wd = copy_workflow(tmp_path / "wf")
    tok = write_tokenizer(wd / "data" / "tokenizer")
    cfg = yaml.safe_load((ROOT / "config" / "release.yaml").read_text())
    for entry in cfg["models"].values():
        entry["source"]["tokenizer"] = str(tok)
    path = write_config(wd, cfg, "release_tok.yaml")
    counts = job_counts(snakemake(wd, "-n", "--quiet", "rules", "--configfile", str(path)).stdout)
    pairs = release.release_pairs(C.load(path))
    assert counts["flops"] == len(pairs) == 22
    assert counts["cost"] == 8                     # llama-3-8b/70b-instruct × 4 tasks
    # families per task: GSM8K llama-3; MATH llama-3, llama-3-base, gemma, pythia; CodeContests llama-3,
    # llama-3-base, gemma; MiniF2F-MATH llama-3
    assert counts["matched"] == 9
    r = snakemake(wd, "results/report/paper_comparison.csv", "-n", "--configfile", str(path))
    for d in ("gsm8k", "math", "code_contests", "minif2f_math"):
        assert f"results/analysis/matched/llama-3/{d}.csv" in r.stdout
