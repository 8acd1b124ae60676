# Config validation, wildcard constraints and the lookups every rule uses. Each lookup reads only the job's
# own model and dataset entries, so adding a model or dataset never changes an existing job's params.
import re
from pathlib import Path

from infscale import config as infscale_config  # installed by `make deps` (pyproject.toml)
from infscale import release as infscale_release

try:
    infscale_config.validate(config)
    infscale_release.check_releases(config)
except infscale_config.ConfigError as e:
    raise SystemExit(f"infscale: {e}")


wildcard_constraints:
    model=r"[A-Za-z0-9][A-Za-z0-9_.-]*",
    dataset=r"[A-Za-z0-9][A-Za-z0-9_.-]*",
    checkpoint=r"[A-Za-z0-9][A-Za-z0-9_.-]*",
    family=r"[A-Za-z0-9][A-Za-z0-9_.-]*",
    shard=r"\d+",


# ---- released samples (workflow/rules/release.smk) ----
# A (model, dataset) pair with models.<m>.releases.<d> takes its samples, verdicts and merged table from
# import_release; generate_shard, verify_shard and merge_shards must not also claim them. Both sides get a model
# constraint whose lookahead reads the rest of the path (…/{model}/{dataset}[/{shard}].parquet), so each output
# has exactly one producer.
def _release_lookahead():
    by_model = {}
    for m, d in infscale_release.release_pairs(config):
        by_model.setdefault(m, []).append(re.escape(d))
    return {m: "(?:" + "|".join(ds) + r")(?:/\d+)?\.parquet$" for m, ds in by_model.items()}


def release_model_constraint():
    """Model names (with their dataset) that import_release produces; matches nothing without releases."""
    alts = [f"{re.escape(m)}(?=/{tail})" for m, tail in _release_lookahead().items()]
    return "(?:" + "|".join(alts) + ")" if alts else "(?!)"


def generated_model_constraint():
    """Every model name, except a release pair's (its files come from import_release)."""
    alts = [f"{re.escape(m)}/{tail}" for m, tail in _release_lookahead().items()]
    guard = "(?!(?:" + "|".join(alts) + "))" if alts else ""
    return guard + r"[A-Za-z0-9][A-Za-z0-9_.-]*"


def release_shards():
    return infscale_release.release_shards(config)


def release_inputs(wildcards):
    """The problems table (id join, prompts for token counts, reverify) and a local release's files."""
    spec = infscale_release.release_spec(config, wildcards.model, wildcards.dataset)
    return {"problems": f"results/problems/{wildcards.dataset}.parquet",
            "release": [spec["path"]] if "path" in spec else []}


def token_notes(dataset):
    return [r for m in models_on(dataset) if (r := infscale_release.tokens_reason(config, m, dataset))]


def release_targets():
    return [f"results/analysis/agreement/{m}/{d}.{ext}" for m, d in infscale_release.reverify_pairs(config)
            for ext in ("csv", "disagree.csv")]


def dataset_files(wildcards):
    """Local source files of a dataset (so editing them reruns its jobs); Hub sources have none."""
    spec = config["datasets"][wildcards.dataset]
    files = [spec["source"]["path"]] if "path" in spec["source"] else []
    fewshot = spec.get("prompt", {}).get("fewshot", {}).get("source", {})
    if "path" in fewshot:
        files.append(fewshot["path"])
    return files


def model_checkpoint(wildcards):
    """The converted checkpoint directory a GGUF model needs; nothing for Hub ids and local HF dirs."""
    path = infscale_config.checkpoint_dir(config, wildcards.model)
    return [path] if path else []


def shard_list(wildcards):
    """The shards of a model × dataset: all K/S, or under a live adaptive policy (datasets.<d>.adaptive) the ones
    before the first whose plan, written by the adaptive_shard checkpoint, is empty."""
    every = infscale_config.shards(config, wildcards.dataset)
    if not infscale_config.adaptive(config, wildcards.dataset):
        return every
    from infscale.adaptive import read_plan

    out = []
    for s in every:
        plan = checkpoints.adaptive_shard.get(model=wildcards.model, dataset=wildcards.dataset, shard=s).output[0]
        if read_plan(plan).empty:
            break
        out.append(s)
    return out


def shard_files(kind):
    def inner(wildcards):
        return expand(
            f"results/{kind}/{{model}}/{{dataset}}/{{shard}}.parquet",
            model=wildcards.model,
            dataset=wildcards.dataset,
            shard=shard_list(wildcards),
        )

    return inner


def adaptive_plan(wildcards):
    """The plan of this shard under a live adaptive policy; nothing when the dataset samples uniformly."""
    if not infscale_config.adaptive(config, wildcards.dataset):
        return []
    return [f"results/adaptive/{wildcards.model}/{wildcards.dataset}/{wildcards.shard}.csv"]


def earlier_verdicts(wildcards):
    """The verdicts of every shard before this one (what the adaptive_shard checkpoint decides from)."""
    return [f"results/verdicts/{wildcards.model}/{wildcards.dataset}/{s}.parquet" for s in range(int(wildcards.shard))]


def coverage_targets():
    return [
        f"results/analysis/coverage/{m}/{d}.{ext}"
        for m, d in infscale_config.pairs(config)
        for ext in ("csv", "png")
    ]


# ---- analysis and report lookups (workflow/rules/analysis.smk, report.smk) ----
def _acfg(*keys, default=None):
    node = config.get("analysis", {})
    for k in keys:
        if not isinstance(node, dict) or k not in node:
            return infscale_config.canonical(default)
        node = node[k]
    return infscale_config.canonical(node)


def model_config_input(wildcards):
    """The HF config.json (or checkpoint dir) the FLOPs rule reads the shape from; [] when models.<m>.shape gives
    it outright or none is known (infscale.config.model_config_json)."""
    path = infscale_config.model_config_json(config, wildcards.model)
    return [path] if path else []


def models_on(dataset, need=None):
    """The models run on `dataset`; need="flops" / "price" keeps those with FLOPs / a price."""
    keep = {
        None: lambda m: True,
        "flops": lambda m: infscale_config.has_flops(config, m, dataset),
        "price": lambda m: infscale_config.has_price(config, m, dataset),
    }[need]
    return [m for m, d in infscale_config.pairs(config) if d == dataset and keep(m)]


def matched_models(w, need=None):
    """The family's models on the dataset that the matched comparison places (with FLOPs / a price)."""
    on = set(models_on(w.dataset, need))
    return [m for m in infscale_config.family_models(config, w.family, w.dataset) if m in on]


def matched_inputs(w):
    d = w.dataset
    return {
        "counts": [f"results/analysis/problems/{m}/{d}.csv" for m in matched_models(w)],
        "flops": [f"results/analysis/flops/{m}/{d}.problems.csv" for m in matched_models(w, "flops")],
        "costs": [f"results/analysis/cost/{m}/{d}.problems.csv" for m in matched_models(w, "price")],
    }


def _allocate_cost():
    return _acfg("allocate", "cost", default="flops_v3")


def _allocate_models(dataset):
    return models_on(dataset, "price" if _allocate_cost() == "dollars" else "flops")


def forecast_k_max(dataset):
    """How far the fit stage forecasts: analysis.forecast.k_max, else the larger of the dataset's K and 10⁴."""
    return int(_acfg("forecast", "k_max", default=max(infscale_config.samples(config, dataset), 10000)))


def analysis_targets():
    """Every analysis output the config asks for (the lead adds this to rule all)."""
    out = []
    datasets = sorted({d for _, d in infscale_config.pairs(config)})
    for m, d in infscale_config.pairs(config):
        out += [f"results/analysis/fit/{m}/{d}.csv",
                f"results/analysis/export/{m}/{d}.jsonl"]
        if config["datasets"][d]["domain"] == "math":
            out.append(f"results/analysis/selection/{m}/{d}.csv")
        if infscale_config.has_flops(config, m, d):
            out.append(f"results/analysis/flops/{m}/{d}.csv")
        if infscale_config.has_price(config, m, d):
            out.append(f"results/analysis/cost/{m}/{d}.csv")
    for d in datasets:
        out += [f"results/analysis/matched/{f}/{d}.{ext}" for f in infscale_config.families(config, d) for ext in ("csv", "png")]
        if _allocate_models(d):
            out.append(f"results/analysis/allocate/{d}.csv")
    return out


def backtest_targets():
    """A backtest for every model × dataset with at least 100 samples per problem (so that m = 10 ≤ n/10)."""
    return [f"results/analysis/backtest/{m}/{d}.csv" for m, d in infscale_config.pairs(config)
            if infscale_config.samples(config, d) >= 100]


def adaptive_targets():
    """The adaptive-sampling simulation of every model × dataset (infscale.adaptive)."""
    return [f"results/analysis/adaptive/{m}/{d}.csv" for m, d in infscale_config.pairs(config)]


def _report_inputs(w):
    d = w.dataset
    return {
        "coverage": [f"results/analysis/coverage/{m}/{d}.csv" for m in models_on(d)],
        "fits": [f"results/analysis/fit/{m}/{d}.csv" for m in models_on(d)],
        "forecasts": [f"results/analysis/forecast/{m}/{d}.csv" for m in models_on(d)],
        "flops": [f"results/analysis/flops/{m}/{d}.csv" for m in models_on(d, "flops")],
        "costs": [f"results/analysis/cost/{m}/{d}.csv" for m in models_on(d, "price")],
        "selection": [f"results/analysis/selection/{m}/{d}.csv" for m in _selection_models(d)],
        "selection_gap": [f"results/analysis/selection_gap/{m}/{d}.csv" for m in _selection_models(d)],
        "allocate": [f"results/analysis/allocate/{d}.csv"] if _allocate_models(d) else [],
    }


def _selection_models(dataset):
    return models_on(dataset) if config["datasets"][dataset]["domain"] == "math" else []


def report_targets():
    """The report figures and tables of every dataset (the lead adds this to rule all)."""
    datasets = sorted({d for _, d in infscale_config.pairs(config)})
    return [f"results/report/{d}/{f}" for d in datasets
            for f in ("coverage.png", "measures.png", "flops.png", "cost.png", "selection.png", "gap.png", "allocate.png",
                      "coverage.csv", "fits.csv", "cost_matched.csv")]


# ---- paper comparison (workflow/rules/paper.smk) ----
def _paper_claims():
    from infscale import paper

    return paper.load_claims(config["report"]["paper_comparison"])


def paper_pairs():
    """Release subset → [model, dataset] for the subsets the published-values file names."""
    from infscale import paper

    want = paper.subsets_needed(_paper_claims())
    return {s: list(md) for s, md in infscale_config.release_subsets(config).items() if s in want}


def paper_subsets(kind):
    """The subsets whose fit / coverage / matched table the comparison reads, in input order."""
    pairs = paper_pairs()
    if kind == "matched":
        return [s for s, (m, d) in pairs.items() if infscale_config.has_flops(config, m, d)]
    return list(pairs)


def paper_inputs(wildcards):
    pairs = paper_pairs()
    return {
        "published": config["report"]["paper_comparison"],
        "fits": [f"results/analysis/fit/{m}/{d}.csv" for m, d in (pairs[s] for s in paper_subsets("fit"))],
        "coverage": [f"results/analysis/coverage/{m}/{d}.csv" for m, d in (pairs[s] for s in paper_subsets("coverage"))],
        "matched": [f"results/analysis/matched/{infscale_config.family(config, m)}/{d}.csv"
                    for m, d in (pairs[s] for s in paper_subsets("matched"))],
    }


def paper_targets():
    return ["results/report/paper_comparison.csv"] if config.get("report", {}).get("paper_comparison") else []
