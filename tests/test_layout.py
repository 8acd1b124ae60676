"""infscale.layout without Snakemake: the path templates, the input lookups and the target lists that
workflow/rules/common.smk adapts (the dry-run counts of tests/test_plan.py from the lists alone)."""

import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

from infscale import config as C
from infscale import layout as L
from infscale.adaptive import PLAN_COLUMNS
from conftest import ROOT
from test_plan import PAPER_COUNTS

KIND = {  # target path prefix → the rule that writes it
    "results/analysis/coverage/": "coverage", "results/analysis/fit/": "fit", "results/analysis/export/": "export",
    "results/analysis/selection/": "selection", "results/analysis/flops/": "flops", "results/analysis/cost/": "cost",
    "results/analysis/matched/": "matched", "results/analysis/allocate/": "allocate",
    "results/analysis/backtest/": "backtest", "results/analysis/adaptive/": "adaptive",
    "results/report/": "report_dataset",
}
PER_JOB = {"coverage": 2, "matched": 2, "report_dataset": len(L.REPORT_FILES)}  # files per job among the targets


def _jobs(targets: list[str]) -> Counter:
    out = Counter()
    for t in targets:
        out[next(rule for prefix, rule in KIND.items() if t.startswith(prefix))] += 1
    return Counter({r: n // PER_JOB.get(r, 1) for r, n in out.items()})


def _all_targets(cfg: dict) -> list[str]:
    return (L.coverage_targets(cfg) + L.analysis_targets(cfg) + L.backtest_targets(cfg) + L.adaptive_targets(cfg)
            + L.report_targets(cfg) + L.paper_targets(cfg) + L.release_targets(cfg))


@pytest.fixture(scope="module")
def paper():
    return C.load(ROOT / "config" / "config.yaml")


@pytest.fixture(scope="module")
def demo():
    return C.load(ROOT / "config" / "demo.yaml")


def test_paper_targets_give_the_dry_run_counts(paper):
    jobs = _jobs(_all_targets(paper))
    assert jobs == {r: PAPER_COUNTS[r] for r in KIND.values()}
    assert len(set(_all_targets(paper))) == len(_all_targets(paper))  # no target twice


def test_demo_targets(demo):
    pairs = C.pairs(demo)
    math = [(m, d) for m, d in pairs if demo["datasets"][d]["domain"] == "math"]
    jobs = _jobs(_all_targets(demo))
    assert jobs["coverage"] == jobs["fit"] == jobs["export"] == jobs["adaptive"] == len(pairs) == 3
    assert jobs["selection"] == len(math)
    assert jobs["report_dataset"] == len({d for _, d in pairs}) == 2
    assert jobs["backtest"] == sum(C.samples(demo, d) >= 100 for _, d in pairs)
    assert L.search_targets(demo) == [f"results/search/smollm2-135m/gsm8k/{f}"
                                      for f in ("difficulty/summary.json", "exchange.csv", "exchange.png")]
    assert L.paper_targets(demo) == [] and L.release_targets(demo) == []


def _producer(template: str, constraint: str) -> re.Pattern:
    """How Snakemake matches an output: the template with {model} under its constraint, other wildcards open."""
    rx = re.escape(template).replace(r"\{model\}", f"(?P<model>{constraint})")
    return re.compile(re.sub(r"\\\{\w+\\\}", "[^/]+", rx) + "$")


def test_release_pairs_have_one_producer_and_are_not_generated():
    cfg = C.load(ROOT / "config" / "release.yaml")
    released = {f"{m}/{d}" for m, d in C.pairs(cfg) if (cfg["models"][m].get("releases") or {}).get(d)}
    gen, rel = L.generated_model_constraint(cfg), L.release_model_constraint(cfg)
    for template in (L.SAMPLES, L.VERDICTS, L.MERGED):
        g, r = _producer(template, gen), _producer(template, rel)
        for m, d in C.pairs(cfg):
            path = template.format(model=m, dataset=d, shard=3)
            assert bool(r.match(path)) == (f"{m}/{d}" in released) != bool(g.match(path)), path
        # a model name that only starts like a released one is still generated
        assert g.match(template.format(model="llama-3-8b-instruct2", dataset="math", shard=0))
    # without releases import_release claims nothing and generation everything
    demo = C.load(ROOT / "config" / "demo.yaml")
    assert L.release_model_constraint(demo) == "(?!)"
    assert not _producer(L.MERGED, "(?!)").match("results/merged/smollm2-135m/gsm8k.parquet")
    assert L.release_shard_files(cfg, L.SAMPLES)[:2] == ["results/samples/{model}/{dataset}/0.parquet",
                                                          "results/samples/{model}/{dataset}/1.parquet"]


def test_matched_inputs_per_family(paper):
    w = {"family": "llama-3", "dataset": "math"}
    got = L.matched_inputs(paper, w)
    ms = ["llama-3-70b-instruct", "llama-3-8b-instruct"]  # name order (layout.models_on)
    assert got == {"counts": [f"results/analysis/problems/{m}/math.csv" for m in ms],
                   "flops": [f"results/analysis/flops/{m}/math.csv".replace(".csv", ".problems.csv") for m in ms],
                   "costs": [f"results/analysis/cost/{m}/math.problems.csv" for m in ms]}
    pythia = L.matched_inputs(paper, {"family": "pythia", "dataset": "gsm8k"})
    assert len(pythia["counts"]) == len(pythia["flops"]) == 7 and pythia["costs"] == []  # unpriced
    # a model without a family is its own
    assert L.matched_models(paper, {"family": "deepseek-coder-v2", "dataset": "code_contests"}) == [
        "deepseek-coder-v2-instruct"]


def test_allocate_and_report_inputs_follow_the_cost_unit(paper):
    cfg = dict(paper)
    flops = L.allocate_inputs(cfg, {"dataset": "gsm8k"})
    assert [Path(p).parts[2] for p in flops["costs"]] == ["flops"] * len(flops["merged"]) and len(flops["merged"]) == 10
    cfg = {**paper, "analysis": {**paper.get("analysis", {}), "allocate": {"cost": "dollars"}}}
    dollars = L.allocate_inputs(cfg, {"dataset": "gsm8k"})
    assert [Path(p).parts[2] for p in dollars["costs"]] == ["cost"] * 2  # the priced models only (Llama-3)
    rep = L.report_inputs(paper, {"dataset": "code_contests"})
    assert rep["selection"] == [] and len(rep["coverage"]) == 3 and rep["allocate"] == [L.ALLOCATE.format(
        dataset="code_contests")]


def test_analysis_cfg_is_canonical_and_defaults(demo):
    cfg = {**demo, "analysis": {"bootstrap": {"seed": 1, "n": 5}}}
    assert list(L.analysis_cfg(cfg, "bootstrap")) == ["n", "seed"]
    assert L.analysis_cfg(cfg, "selection", "trials", default=100) == 100
    assert L.forecast_k_max({**demo, "analysis": {}}, "gsm8k") == max(C.samples(demo, "gsm8k"), 10000)


def test_shard_list_stops_at_the_first_empty_plan(tmp_path, demo):
    cfg = yaml.safe_load((ROOT / "config" / "demo.yaml").read_text())
    cfg["datasets"]["gsm8k"]["samples"] = 4 * C.samples_per_shard(cfg, "gsm8k")
    w = {"model": "smollm2-135m", "dataset": "gsm8k"}
    assert L.shard_list(cfg, w) == [0, 1, 2, 3]  # uniform: every shard, no plan read
    cfg["datasets"]["gsm8k"]["adaptive"] = {"policy": "reset_discard"}
    C.validate(cfg)  # fills adaptive.solved from the schema
    plans = {s: tmp_path / f"{s}.csv" for s in range(4)}
    for s, rows in ((0, 2), (1, 1), (2, 0), (3, 1)):
        plans[s].write_text(",".join(PLAN_COLUMNS) + "\n" + "".join(
            ",".join(f"q{i}" if c == "problem_id" else "1" for c in PLAN_COLUMNS) + "\n" for i in range(rows)))
    assert L.shard_list(cfg, w, lambda s: plans[s]) == [0, 1]
    assert L.shard_paths(L.VERDICTS, w, [0, 1]) == L.earlier_verdicts({**w, "shard": "2"})
    assert L.adaptive_plan(cfg, {**w, "shard": 1}) == ["results/adaptive/smollm2-135m/gsm8k/1.csv"]


def test_lookups_take_wildcards_as_dict_or_object(paper):
    class W:
        model, dataset, family = "gemma-2b", "math", "gemma"
    d = {"model": "gemma-2b", "dataset": "math", "family": "gemma"}
    for fn in (L.matched_inputs, L.report_inputs, L.model_config_input, L.dataset_files, L.prm_paths,
               L.strategy_paths, L.larger_paths):
        assert fn(paper, W) == fn(paper, d), fn.__name__


def test_search_lookups(demo):
    assert L.search_pairs(demo) == [("smollm2-135m", "gsm8k")]
    w = {"model": "smollm2-135m", "dataset": "gsm8k"}
    assert L.prm_paths(demo, w) == [f"results/search/smollm2-135m/gsm8k/prm/{s}.parquet"
                                    for s in C.shards(demo, "gsm8k")]
    assert L.strategy_paths(demo, w) == [f"results/search/smollm2-135m/gsm8k/{s}/merged.parquet"
                                         for s in demo["search"]["strategies"]]
    job = L.strategy_job(demo, "smollm2-135m", "gsm8k", L.strategies(demo)[0])
    assert job["step_cfg"]["max_steps"] > 0 and job["extraction"]["style"]


def test_path_templates_are_spelled_only_in_layout():
    """Each results path pattern used by rules and library (`results/merged/…` was spelled in 14 places) is
    written once, in infscale/layout.py; rules and other modules use the constants."""
    workflow = ROOT / "workflow"
    files = [p for p in [*workflow.rglob("*.py"), *workflow.rglob("*.smk")] if p.name != "layout.py"]
    kinds = "merged|samples|verdicts|problems|scored|search|analysis|adaptive|models|report"
    literal = re.compile(rf"""["'](results/(?:{kinds})/)""")
    for p in files:
        for line in p.read_text().splitlines():
            code = line.split("#")[0]
            assert not literal.search(code), f"{p.relative_to(ROOT)}: {line.strip()}"
    assert sum(k.isupper() and isinstance(v, str) and v.startswith("results/") for k, v in vars(L).items()) > 30


def test_a_model_has_one_colour_across_datasets_and_figures(paper):
    """Every report page and matched figure colours by the same palette (all models of the config), so a model
    shown on two datasets, or on a family figure, keeps its colour (issue 14: one colour per model across
    figures)."""
    from infscale.report import model_colours

    pairs = C.pairs(paper)
    datasets = sorted({d for _, d in pairs})
    shared = next(m for m in paper["models"] if sum(m == n for n, _ in pairs) > 1)
    on = [d for n, d in pairs if n == shared][:2]
    palettes = [L.report_params(paper, {"dataset": d})["palette"] for d in datasets]
    assert all(p == palettes[0] == sorted(paper["models"]) for p in palettes)
    fam = {"family": C.family(paper, shared), "dataset": on[0]}
    assert L.matched_params(paper, fam)["palette"] == palettes[0]
    colour = [model_colours(L.models_on(paper, d), palettes[0])[shared] for d in on]
    assert colour[0] == colour[1] == model_colours([shared], palettes[0])[shared]
    # the dataset's own model list alone would not do: the shared model sits at different places on the two
    assert len(on) == 2
