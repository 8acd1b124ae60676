# Config validation, wildcard constraints and the lookups every rule uses. Each lookup reads only the job's
# own model and dataset entries, so adding a model or dataset never changes an existing job's params.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.current_basedir).parent))  # workflow/ (this file is workflow/rules/)

from infscale import config as infscale_config  # noqa: E402

try:
    infscale_config.validate(config)
except infscale_config.ConfigError as e:
    raise SystemExit(f"infscale: {e}")


wildcard_constraints:
    model=r"[A-Za-z0-9][A-Za-z0-9_.-]*",
    dataset=r"[A-Za-z0-9][A-Za-z0-9_.-]*",
    checkpoint=r"[A-Za-z0-9][A-Za-z0-9_.-]*",
    shard=r"\d+",


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
    name = infscale_config.checkpoint(config, wildcards.model)
    return [f"results/models/{name}"] if name else []


def shard_files(kind):
    def inner(wildcards):
        return expand(
            f"results/{kind}/{{model}}/{{dataset}}/{{shard}}.parquet",
            model=wildcards.model,
            dataset=wildcards.dataset,
            shard=infscale_config.shards(config, wildcards.dataset),
        )

    return inner


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
            return default
        node = node[k]
    return node


def analysis_shape(model):
    """analysis.models.<model>: an explicit config_json path and/or n_params (override)."""
    return _acfg("models", model, default={}) or {}


def model_config_input(wildcards):
    """Where the model's HF config.json comes from: analysis.models.<m>.config_json, the converted checkpoint
    (GGUF models), or a local HF checkpoint dir. [] when none is known (no FLOPs for that model)."""
    entry = analysis_shape(wildcards.model)
    if "config_json" in entry:
        return [entry["config_json"]]
    ck = infscale_config.checkpoint(config, wildcards.model)
    if ck:
        return [f"results/models/{ck}"]
    src = config["models"][wildcards.model]["source"]
    if "path" in src:
        return [src["path"]]
    return []


def has_flops(model):
    return bool(model_config_input(type("W", (), {"model": model})()))


def has_price(model):
    return "price" in config["models"][model]


def models_on(dataset, pred=lambda m: True):
    return [m for m, d in infscale_config.pairs(config) if d == dataset and pred(m)]


def _family_models(w):
    return models_on(w.dataset, lambda m: has_flops(m) and config["models"][m].get("family") == w.family)


def _allocate_cost():
    return _acfg("allocate", "cost", default="flops_v3")


def _allocate_models(dataset):
    pred = has_price if _allocate_cost() == "dollars" else has_flops
    return models_on(dataset, pred)


def analysis_targets():
    """Every analysis output the config asks for (the lead adds this to rule all)."""
    out = []
    datasets = sorted({d for _, d in infscale_config.pairs(config)})
    for m, d in infscale_config.pairs(config):
        out += [f"results/analysis/fit/{m}/{d}.csv",
                f"results/analysis/export/{m}/{d}.jsonl"]
        if config["datasets"][d]["domain"] == "math":
            out.append(f"results/analysis/selection/{m}/{d}.csv")
        if has_flops(m):
            out.append(f"results/analysis/flops/{m}/{d}.csv")
        if has_price(m):
            out.append(f"results/analysis/cost/{m}/{d}.csv")
    for d in datasets:
        fams = {config["models"][m].get("family") for m in models_on(d, has_flops)} - {None}
        out += [f"results/analysis/matched/{f}/{d}.csv" for f in sorted(fams)]
        if _allocate_models(d):
            out.append(f"results/analysis/allocate/{d}.csv")
    return out


def _report_inputs(w):
    d = w.dataset
    return {
        "coverage": [f"results/analysis/coverage/{m}/{d}.csv" for m in models_on(d)],
        "fits": [f"results/analysis/fit/{m}/{d}.csv" for m in models_on(d)],
        "flops": [f"results/analysis/flops/{m}/{d}.csv" for m in models_on(d, has_flops)],
        "costs": [f"results/analysis/cost/{m}/{d}.csv" for m in models_on(d, has_price)],
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
            for f in ("coverage.png", "flops.png", "cost.png", "selection.png", "gap.png", "allocate.png", "coverage.csv",
                      "fits.csv", "cost_matched.csv")]


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
        return [s for s, (m, d) in pairs.items() if has_flops(m) and config["models"][m].get("family")]
    return list(pairs)


def paper_inputs(wildcards):
    pairs = paper_pairs()
    return {
        "published": config["report"]["paper_comparison"],
        "fits": [f"results/analysis/fit/{m}/{d}.csv" for m, d in (pairs[s] for s in paper_subsets("fit"))],
        "coverage": [f"results/analysis/coverage/{m}/{d}.csv" for m, d in (pairs[s] for s in paper_subsets("coverage"))],
        "matched": [f"results/analysis/matched/{config['models'][m]['family']}/{d}.csv"
                    for m, d in (pairs[s] for s in paper_subsets("matched"))],
    }


def paper_targets():
    return ["results/report/paper_comparison.csv"] if config.get("report", {}).get("paper_comparison") else []
