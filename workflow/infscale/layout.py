"""Where the workflow's files live and which files each job reads: the one home of the path templates, the input
lookups and the target lists. workflow/rules/common.smk only adapts these to Snakemake (`config` and the job's
wildcards), and `python -m infscale <stage>` builds a hand run's paths from the same functions, so a hand run and
a rule run get the same job. Nothing here imports Snakemake.

Every lookup takes the whole config and the job's wildcards (a dict, or anything with attributes: Snakemake's
wildcards object) and reads only the job's own model and dataset entries, so adding a model or dataset never
changes an existing job's inputs or params.
"""

from __future__ import annotations

import re
from typing import Any, Callable

from . import config as C
from . import release as R

# ---- path templates: one per kind of file (str.format / Snakemake wildcards) ---------------------------------
PROBLEMS = "results/problems/{dataset}.parquet"
CHECKPOINT = "results/models/{checkpoint}"
SAMPLES = "results/samples/{model}/{dataset}/{shard}.parquet"
VERDICTS = "results/verdicts/{model}/{dataset}/{shard}.parquet"
ADAPTIVE_PLAN = "results/adaptive/{model}/{dataset}/{shard}.csv"
MERGED = "results/merged/{model}/{dataset}.parquet"
SCORED = "results/scored/{model}/{dataset}.parquet"

ANALYSIS = "results/analysis"
COVERAGE = ANALYSIS + "/coverage/{model}/{dataset}.csv"
COVERAGE_PNG = ANALYSIS + "/coverage/{model}/{dataset}.png"
PROBLEM_COUNTS = ANALYSIS + "/problems/{model}/{dataset}.csv"  # per-problem (n, c): coverage → fit, backtest, matched
FIT = ANALYSIS + "/fit/{model}/{dataset}.csv"
FIT_PNG = ANALYSIS + "/fit/{model}/{dataset}.png"
FORECAST = ANALYSIS + "/forecast/{model}/{dataset}.csv"
FLOPS = ANALYSIS + "/flops/{model}/{dataset}.csv"
FLOPS_PROBLEMS = ANALYSIS + "/flops/{model}/{dataset}.problems.csv"
COST = ANALYSIS + "/cost/{model}/{dataset}.csv"
COST_PROBLEMS = ANALYSIS + "/cost/{model}/{dataset}.problems.csv"
SELECTION = ANALYSIS + "/selection/{model}/{dataset}.csv"
SELECTION_GAP = ANALYSIS + "/selection_gap/{model}/{dataset}.csv"
VERIFIERS = ANALYSIS + "/verifiers/{model}/{dataset}.csv"
EXPORT = ANALYSIS + "/export/{model}/{dataset}.jsonl"
MATCHED = ANALYSIS + "/matched/{family}/{dataset}.csv"
MATCHED_PNG = ANALYSIS + "/matched/{family}/{dataset}.png"
ALLOCATE = ANALYSIS + "/allocate/{dataset}.csv"
BACKTEST = ANALYSIS + "/backtest/{model}/{dataset}.csv"
BACKTEST_PNG = ANALYSIS + "/backtest/{model}/{dataset}.png"
ADAPTIVE_SIM = ANALYSIS + "/adaptive/{model}/{dataset}.csv"
AGREEMENT = ANALYSIS + "/agreement/{model}/{dataset}.csv"
AGREEMENT_DISAGREE = ANALYSIS + "/agreement/{model}/{dataset}.disagree.csv"

REPORT = "results/report/{dataset}/{name}"
REPORT_FILES = {  # report_dataset's named outputs → file name under results/report/{dataset}/
    "coverage_png": "coverage.png", "measures_png": "measures.png", "flops_png": "flops.png", "cost_png": "cost.png",
    "selection_png": "selection.png", "gap_png": "gap.png", "allocate_png": "allocate.png",
    "coverage_table": "coverage.csv", "fit_table": "fits.csv", "cost_table": "cost_matched.csv",
}
PAPER = "results/report/paper_comparison.csv"

PLAN_DIR = "results/plan"
BENCHMARKS = "results/benchmarks/{rule}"  # Snakemake `benchmark:` files of one rule

SEARCH = "results/search/{model}/{dataset}"
SEARCH_PRM = SEARCH + "/prm/{shard}.parquet"
SEARCH_SAMPLES = SEARCH + "/{strategy}/samples.parquet"
SEARCH_VERDICTS = SEARCH + "/{strategy}/verdicts.parquet"
SEARCH_MERGED = SEARCH + "/{strategy}/merged.parquet"
SEARCH_DIFFICULTY = {  # search_difficulty's named outputs
    "bins": SEARCH + "/difficulty/bins.parquet", "accuracy": SEARCH + "/difficulty/accuracy.csv",
    "compute_optimal": SEARCH + "/difficulty/compute_optimal.csv", "ratio": SEARCH + "/difficulty/ratio.csv",
    "summary": SEARCH + "/difficulty/summary.json", "plot": SEARCH + "/difficulty/accuracy.png",
}
SEARCH_EXCHANGE = SEARCH + "/exchange.csv"
SEARCH_EXCHANGE_PNG = SEARCH + "/exchange.png"


def plan_paths() -> dict:
    """What the plan rule reads (problems tables, generate_shard's benchmark files, verdicts) and writes."""
    return {"problems_dir": PROBLEMS.split("/{")[0], "bench_dir": BENCHMARKS.format(rule="generate_shard"),
            "verdicts_dir": VERDICTS.split("/{")[0], "forecast_csv": PLAN_DIR + "/forecast.csv",
            "csv": PLAN_DIR + "/plan.csv", "txt": PLAN_DIR + "/plan.txt"}


def partial(template: str, **values) -> str:
    """`template` with only the named wildcards filled in; the others stay `{name}` (for a rule's output list)."""
    for k, v in values.items():
        template = template.replace("{" + k + "}", str(v))
    return template


def _w(wildcards, name: str) -> str:
    return wildcards[name] if isinstance(wildcards, dict) else getattr(wildcards, name)


def _md(wildcards) -> dict:
    return {"model": _w(wildcards, "model"), "dataset": _w(wildcards, "dataset")}


# ---- released samples (workflow/rules/release.smk) --------------------------------------------------------------
# A (model, dataset) pair with models.<m>.releases.<d> takes its samples, verdicts and merged table from
# import_release; generate_shard, verify_shard and merge_shards must not also claim them. Both sides get a model
# constraint whose lookahead reads the rest of the path (…/{model}/{dataset}[/{shard}].parquet), so each output
# has exactly one producer.

def _release_lookahead(config: dict) -> dict[str, str]:
    by_model: dict[str, list[str]] = {}
    for m, d in R.release_pairs(config):
        by_model.setdefault(m, []).append(re.escape(d))
    return {m: "(?:" + "|".join(ds) + r")(?:/\d+)?\.parquet$" for m, ds in by_model.items()}


def release_model_constraint(config: dict) -> str:
    """Model names (with their dataset) that import_release produces; matches nothing without releases."""
    alts = [f"{re.escape(m)}(?=/{tail})" for m, tail in _release_lookahead(config).items()]
    return "(?:" + "|".join(alts) + ")" if alts else "(?!)"


def generated_model_constraint(config: dict) -> str:
    """Every model name, except a release pair's (its files come from import_release)."""
    alts = [f"{re.escape(m)}/{tail}" for m, tail in _release_lookahead(config).items()]
    guard = "(?!(?:" + "|".join(alts) + "))" if alts else ""
    return guard + r"[A-Za-z0-9][A-Za-z0-9_.-]*"


def release_shard_files(config: dict, template: str) -> list[str]:
    """import_release's samples or verdicts outputs: `template` for every release shard, model/dataset left open."""
    return [partial(template, shard=s) for s in R.release_shards(config)]


def release_inputs(config: dict, w) -> dict:
    """The problems table (id join, prompts for token counts, reverify) and a local release's files."""
    spec = R.release_spec(config, _w(w, "model"), _w(w, "dataset"))
    return {"problems": PROBLEMS.format(dataset=_w(w, "dataset")), "release": [spec["path"]] if "path" in spec else []}


def token_notes(config: dict, dataset: str) -> list[str]:
    """One line per model on `dataset` whose release has no token counts (release.tokens_reason)."""
    return [r for m in models_on(config, dataset) if (r := R.tokens_reason(config, m, dataset))]


def release_targets(config: dict) -> list[str]:
    return [t.format(model=m, dataset=d) for m, d in R.reverify_pairs(config) for t in (AGREEMENT, AGREEMENT_DISAGREE)]


# ---- generation, verification, merge ----------------------------------------------------------------------------

def dataset_files(config: dict, w) -> list[str]:
    """Local source files of a dataset (so editing them reruns its jobs); Hub sources have none."""
    spec = config["datasets"][_w(w, "dataset")]
    files = [spec["source"]["path"]] if "path" in spec["source"] else []
    fewshot = spec.get("prompt", {}).get("fewshot", {}).get("source", {})
    if "path" in fewshot:
        files.append(fewshot["path"])
    return files


def model_checkpoint(config: dict, w) -> list[str]:
    """The converted checkpoint directory a GGUF model needs; nothing for Hub ids and local HF dirs."""
    path = C.checkpoint_dir(config, _w(w, "model"))
    return [path] if path else []


def shard_list(config: dict, w, plan_of: Callable[[int], str] | None = None) -> list[int]:
    """The shards of a model × dataset: all K/S, or under a live adaptive policy (datasets.<d>.adaptive) the ones
    before the first whose plan is empty. `plan_of(shard)` gives a shard's plan file (in the workflow: the
    adaptive_shard checkpoint's output, which Snakemake makes before this returns)."""
    every = C.shards(config, _w(w, "dataset"))
    if not C.adaptive(config, _w(w, "dataset")):
        return every
    from .adaptive import read_plan

    plan_of = plan_of or (lambda s: ADAPTIVE_PLAN.format(**_md(w), shard=s))
    out = []
    for s in every:
        if read_plan(plan_of(s)).empty:
            break
        out.append(s)
    return out


def shard_paths(template: str, w, shards) -> list[str]:
    """`template` (SAMPLES, VERDICTS, SEARCH_PRM) for the job's model and dataset and each of `shards`."""
    return [template.format(**_md(w), shard=s) for s in shards]


def adaptive_plan(config: dict, w) -> list[str]:
    """The plan of this shard under a live adaptive policy; nothing when the dataset samples uniformly."""
    if not C.adaptive(config, _w(w, "dataset")):
        return []
    return [ADAPTIVE_PLAN.format(**_md(w), shard=_w(w, "shard"))]


def earlier_verdicts(w) -> list[str]:
    """The verdicts of every shard before this one (what the adaptive_shard checkpoint decides from)."""
    return shard_paths(VERDICTS, w, range(int(_w(w, "shard"))))


def coverage_targets(config: dict) -> list[str]:
    return [t.format(model=m, dataset=d) for m, d in C.pairs(config) for t in (COVERAGE, COVERAGE_PNG)]


# ---- analysis and report lookups (workflow/rules/analysis.smk, report.smk) --------------------------------------

def analysis_cfg(config: dict, *keys, default=None) -> Any:
    """analysis.<keys…> (canonical, so key order never reruns a job), or `default` when absent."""
    node = config.get("analysis", {})
    for k in keys:
        if not isinstance(node, dict) or k not in node:
            return C.canonical(default)
        node = node[k]
    return C.canonical(node)


def model_config_input(config: dict, w) -> list[str]:
    """The HF config.json (or checkpoint dir) the FLOPs rule reads the shape from; [] when models.<m>.shape gives
    it outright or none is known (config.model_config_json)."""
    path = C.model_config_json(config, _w(w, "model"))
    return [path] if path else []


def models_on(config: dict, dataset: str, need: str | None = None) -> list[str]:
    """The models run on `dataset`, in name order (so reordering `models:` reruns nothing); need="flops" / "price"
    keeps those with FLOPs / a price."""
    keep = {
        None: lambda m: True,
        "flops": lambda m: C.has_flops(config, m, dataset),
        "price": lambda m: C.has_price(config, m, dataset),
    }[need]
    return sorted(m for m, d in C.pairs(config) if d == dataset and keep(m))


def palette_models(config: dict) -> list[str]:
    """Every model of the config, in name order: a figure colours a model by its place among these
    (report.model_colours), so a model keeps its colour in every figure of every dataset."""
    return sorted(config["models"])


def matched_models(config: dict, w, need: str | None = None) -> list[str]:
    """The family's models on the dataset that the matched comparison places (with FLOPs / a price)."""
    on = set(models_on(config, _w(w, "dataset"), need))
    return sorted(m for m in C.family_models(config, _w(w, "family"), _w(w, "dataset")) if m in on)


def matched_inputs(config: dict, w) -> dict:
    d = _w(w, "dataset")
    return {
        "counts": [PROBLEM_COUNTS.format(model=m, dataset=d) for m in matched_models(config, w)],
        "flops": [FLOPS_PROBLEMS.format(model=m, dataset=d) for m in matched_models(config, w, "flops")],
        "costs": [COST_PROBLEMS.format(model=m, dataset=d) for m in matched_models(config, w, "price")],
    }


def allocate_cost(config: dict) -> str:
    """analysis.allocate.cost: what the allocation spends (flops_v3, flops_v1 or dollars)."""
    return analysis_cfg(config, "allocate", "cost")


def allocate_models(config: dict, dataset: str) -> list[str]:
    return models_on(config, dataset, "price" if allocate_cost(config) == "dollars" else "flops")


def allocate_inputs(config: dict, w) -> dict:
    """The merged tables and per-problem cost tables (FLOPs or dollars) of every model the allocation places."""
    d = _w(w, "dataset")
    ms = allocate_models(config, d)
    costs = COST_PROBLEMS if allocate_cost(config) == "dollars" else FLOPS_PROBLEMS
    return {"merged": [MERGED.format(model=m, dataset=d) for m in ms],
            "costs": [costs.format(model=m, dataset=d) for m in ms]}


def selection_input(config: dict, model: str, dataset: str) -> str:
    """The table the selection rule reads: the scored merged table when scoring is configured (score.enabled),
    else the merged one."""
    from .score import enabled

    return (SCORED if enabled(config, dataset) else MERGED).format(model=model, dataset=dataset)


def forecast_k_max(config: dict, dataset: str) -> int:
    """How far the fit stage forecasts: analysis.forecast.k_max, else the larger of the dataset's K and 10⁴."""
    return int(analysis_cfg(config, "forecast", "k_max", default=max(C.samples(config, dataset), 10000)))


# The params of the analysis rules, one function per rule: the rule (`params: **…` or common.smk `param`) and
# `python -m infscale <stage>` read the same values.

def coverage_params(config: dict, w) -> dict:
    d = _w(w, "dataset")
    return {"bootstrap": analysis_cfg(config, "bootstrap"), "lenient": C.lenient_extraction(config, d),
            "adaptive": C.adaptive(config, d) is not None}


def fit_params(config: dict, w) -> dict:
    return {"k_max": forecast_k_max(config, _w(w, "dataset")), "forecast": analysis_cfg(config, "forecast")}


def flops_params(config: dict, w) -> dict:
    return {"shape": C.canonical(C.shape_entry(config, _w(w, "model")))}


def cost_params(config: dict, w) -> dict:
    return {"price": C.canonical(config["models"][_w(w, "model")].get("price", {}))}


def selection_params(config: dict) -> dict:
    return {"ks": analysis_cfg(config, "selection", "ks"),
            "trials": analysis_cfg(config, "selection", "trials"),
            "seed": analysis_cfg(config, "selection", "seed")}


def export_params(config: dict) -> dict:
    return {"max_per_problem": analysis_cfg(config, "export", "max_per_problem"),
            "system": analysis_cfg(config, "export", "system")}


def matched_params(config: dict, w) -> dict:
    return {"models": matched_models(config, w), "flops_models": matched_models(config, w, "flops"),
            "cost_models": matched_models(config, w, "price"), "title": f"{_w(w, 'family')} on {_w(w, 'dataset')}",
            "palette": palette_models(config)}


def allocate_params(config: dict, w) -> dict:
    return {"models": allocate_models(config, _w(w, "dataset")), "cost": allocate_cost(config),
            "bins": analysis_cfg(config, "allocate", "bins"),
            "budgets": analysis_cfg(config, "allocate", "budgets")}


def backtest_params(config: dict) -> dict:
    return {"backtest": analysis_cfg(config, "backtest")}


def adaptive_params(config: dict) -> dict:
    return {"solved": analysis_cfg(config, "adaptive", "solved")}


def report_params(config: dict, w) -> dict:
    d = _w(w, "dataset")
    return {"dataset": d, "models": models_on(config, d), "flops_models": models_on(config, d, "flops"),
            "cost_models": models_on(config, d, "price"), "notes": token_notes(config, d),
            "selection_models": selection_models(config, d),
            "families": {m: C.family(config, m) for m in models_on(config, d)}, "palette": palette_models(config)}


def _datasets(config: dict) -> list[str]:
    return sorted({d for _, d in C.pairs(config)})


def selection_models(config: dict, dataset: str) -> list[str]:
    return models_on(config, dataset) if config["datasets"][dataset]["domain"] == "math" else []


def analysis_targets(config: dict) -> list[str]:
    """Every analysis output the config asks for."""
    out = []
    for m, d in C.pairs(config):
        md = {"model": m, "dataset": d}
        out += [FIT.format(**md), EXPORT.format(**md)]
        if config["datasets"][d]["domain"] == "math":
            out.append(SELECTION.format(**md))
        if C.has_flops(config, m, d):
            out.append(FLOPS.format(**md))
        if C.has_price(config, m, d):
            out.append(COST.format(**md))
    for d in _datasets(config):
        out += [t.format(family=f, dataset=d) for f in C.families(config, d) for t in (MATCHED, MATCHED_PNG)]
        if allocate_models(config, d):
            out.append(ALLOCATE.format(dataset=d))
    return out


def backtest_targets(config: dict) -> list[str]:
    """A backtest for every model × dataset with at least 100 samples per problem (so that m = 10 ≤ n/10)."""
    return [BACKTEST.format(model=m, dataset=d) for m, d in C.pairs(config) if C.samples(config, d) >= 100]


def adaptive_targets(config: dict) -> list[str]:
    """The adaptive-sampling simulation of every model × dataset (infscale.adaptive)."""
    return [ADAPTIVE_SIM.format(model=m, dataset=d) for m, d in C.pairs(config)]


def report_inputs(config: dict, w) -> dict:
    d = _w(w, "dataset")

    def each(template, models):
        return [template.format(model=m, dataset=d) for m in models]

    return {
        "coverage": each(COVERAGE, models_on(config, d)),
        "fits": each(FIT, models_on(config, d)),
        "forecasts": each(FORECAST, models_on(config, d)),
        "flops": each(FLOPS, models_on(config, d, "flops")),
        "costs": each(COST, models_on(config, d, "price")),
        "selection": each(SELECTION, selection_models(config, d)),
        "selection_gap": each(SELECTION_GAP, selection_models(config, d)),
        "allocate": [ALLOCATE.format(dataset=d)] if allocate_models(config, d) else [],
    }


def report_outputs(dataset: str = "{dataset}") -> dict:
    """report_dataset's named outputs (the wildcard left open by default)."""
    return {k: REPORT.format(dataset=dataset, name=f) for k, f in REPORT_FILES.items()}


def report_targets(config: dict) -> list[str]:
    """The report figures and tables of every dataset."""
    return [REPORT.format(dataset=d, name=f) for d in _datasets(config) for f in REPORT_FILES.values()]


# ---- paper comparison (workflow/rules/paper.smk) ----------------------------------------------------------------

def paper_file(config: dict) -> str | None:
    """report.paper_comparison: the published-values file, or None."""
    return (config.get("report") or {}).get("paper_comparison")


def paper_pairs(config: dict) -> dict:
    """Release subset → [model, dataset] for the subsets the published-values file names."""
    from . import paper

    want = paper.subsets_needed(paper.load_claims(paper_file(config)))
    return {s: list(md) for s, md in C.release_subsets(config).items() if s in want}


def paper_subsets(config: dict, kind: str) -> list[str]:
    """The subsets whose fit / coverage / matched table the comparison reads, in input order."""
    pairs = paper_pairs(config)
    if kind == "matched":
        return [s for s, (m, d) in pairs.items() if C.has_flops(config, m, d)]
    return list(pairs)


def paper_inputs(config: dict, w=None) -> dict:
    pairs = paper_pairs(config)

    def each(kind, template):
        return [template.format(model=m, dataset=d, family=C.family(config, m))
                for m, d in (pairs[s] for s in paper_subsets(config, kind))]

    return {"published": paper_file(config), "fits": each("fit", FIT), "coverage": each("coverage", COVERAGE),
            "matched": each("matched", MATCHED)}


def paper_params(config: dict, w=None) -> dict:
    return {"pairs": C.canonical(paper_pairs(config)), "fit_subsets": paper_subsets(config, "fit"),
            "coverage_subsets": paper_subsets(config, "coverage"), "matched_subsets": paper_subsets(config, "matched")}


def paper_targets(config: dict) -> list[str]:
    return [PAPER] if paper_file(config) else []


# ---- search (workflow/rules/search.smk; entry points in infscale.search.run) ------------------------------------

def search_cfg(config: dict) -> dict:
    return config.get("search") or {}


def search_pairs(config: dict) -> list[tuple[str, str]]:
    """(model, dataset) pairs the search stage runs on."""
    s = search_cfg(config)
    if not s:
        return []
    models = s.get("models", list(config["models"]))
    return [(m, d) for m in models for d in s.get("datasets", C.model_datasets(config, m))
            if d in C.model_datasets(config, m)]


def strategies(config: dict) -> list[str]:
    return list(search_cfg(config).get("strategies", {}))


def _search_common(config: dict, model: str, dataset: str) -> dict:
    s = search_cfg(config)
    m = config["models"][model]
    return {"model": model, "dataset": dataset, "source": m["source"], "engine_cfg": C.engine(config, model),
            "prm_cfg": s["prm"], "step_cfg": s["step"],
            "problems_n": s.get("problems")}


def strategy_job(config: dict, model: str, dataset: str, strategy: str) -> dict:
    s = search_cfg(config)
    d = config["datasets"][dataset]
    sampling = {**{k: v for k, v in C.sampling(config, model, dataset).items() if k in ("temperature", "top_p")},
                **s.get("sampling", {})}  # search.sampling over the dataset's generation sampling
    return {**_search_common(config, model, dataset), "name": strategy, "spec": s["strategies"][strategy],
            "budgets": list(s["budgets"]), "sampling": sampling, "prompt_cfg": d["prompt"],
            "extraction": search_extraction(config, dataset)}


def search_extraction(config: dict, dataset: str) -> dict:
    """How the searcher reads a solution's final answer for its votes: the dataset's prompt style and lenient flag,
    as the math verifier reads it (verify.math.options_of over config.verify_options)."""
    from .verify.math import options_of
    o = options_of(C.verify_options(config, dataset))
    return {"style": o["style"], "lenient": o["lenient"]}


def prm_job(config: dict, model: str, dataset: str) -> dict:
    return _search_common(config, model, dataset)


def difficulty_job(config: dict) -> dict:
    d = search_cfg(config)["difficulty"]
    return {"bins": int(d["bins"]), "folds": int(d["folds"]), "baseline": d["baseline"]}


def exchange_job(config: dict) -> dict:
    e = search_cfg(config)["exchange"]
    return {"m": float(e["M"]), "ratios": [float(r) for r in e["ratios"]]}


def larger_model(config: dict, model: str) -> str | None:
    return search_cfg(config).get("exchange", {}).get("larger", {}).get(model)


def search_targets(config: dict) -> list[str]:
    """What `snakemake search_all` builds: per (model, dataset) the difficulty summary and the exchange."""
    return [t.format(model=m, dataset=d) for m, d in search_pairs(config)
            for t in (SEARCH_DIFFICULTY["summary"], SEARCH_EXCHANGE, SEARCH_EXCHANGE_PNG)]


def prm_paths(config: dict, w) -> list[str]:
    return shard_paths(SEARCH_PRM, w, C.shards(config, _w(w, "dataset")))


def strategy_paths(config: dict, w) -> list[str]:
    return [SEARCH_MERGED.format(**_md(w), strategy=s) for s in strategies(config)]


def larger_paths(config: dict, w) -> list[str]:
    larger = larger_model(config, _w(w, "model"))
    return [MERGED.format(model=larger, dataset=_w(w, "dataset"))] if larger else []
