# Analysis after the merge (Brown et al. 2024, arXiv 2407.21787; Snell et al. 2024, arXiv 2408.03314).
# Every rule reads results/merged/{model}/{dataset}.parquet (or an earlier analysis output) and writes under
# results/analysis/. Per-(model, dataset) params come from that model's and dataset's entries and `analysis:`;
# only the cross-model rules (matched per family, allocate per dataset) list several models. A model's shape for
# FLOPs is its one key models.<m>.shape (infscale.config.shape_entry), the same the compute plan reads.
# Needs `infscale_config` (imported by common.smk, which puts workflow/ on sys.path).
rule flops:
    input:
        merged="results/merged/{model}/{dataset}.parquet",
        curve="results/analysis/coverage/{model}/{dataset}.csv",
        model_config=model_config_input,
    output:
        curve="results/analysis/flops/{model}/{dataset}.csv",
        problems="results/analysis/flops/{model}/{dataset}.problems.csv",
    params:
        shape=lambda w: infscale_config.canonical(infscale_config.shape_entry(config, w.model)),
    log:
        "results/logs/analysis/flops/{model}/{dataset}.log",
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/flops.py"


rule cost:
    input:
        merged="results/merged/{model}/{dataset}.parquet",
        curve="results/analysis/coverage/{model}/{dataset}.csv",
    output:
        curve="results/analysis/cost/{model}/{dataset}.csv",
        problems="results/analysis/cost/{model}/{dataset}.problems.csv",
    params:
        price=lambda w: infscale_config.canonical(config["models"][w.model].get("price", {})),
    log:
        "results/logs/analysis/cost/{model}/{dataset}.log",
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/cost.py"


rule selection:
    input:
        # the merged table, or with `score.verifiers` the scored one (reward_<verifier> columns; score.smk)
        lambda w: infscale_score.selection_input(config, w.model, w.dataset),
    output:
        curve="results/analysis/selection/{model}/{dataset}.csv",
        gap="results/analysis/selection_gap/{model}/{dataset}.csv",
        verifiers="results/analysis/verifiers/{model}/{dataset}.csv",
    params:
        ks=_acfg("selection", "ks"),
        trials=_acfg("selection", "trials", default=100),
        seed=_acfg("selection", "seed", default=0),
    log:
        "results/logs/analysis/selection/{model}/{dataset}.log",
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/selection.py"


rule export:
    input:
        problems="results/problems/{dataset}.parquet",
        samples=shard_files("samples"),
        merged="results/merged/{model}/{dataset}.parquet",
    output:
        "results/analysis/export/{model}/{dataset}.jsonl",
    params:
        max_per_problem=_acfg("export", "max_per_problem"),
        system=_acfg("export", "system"),
    log:
        "results/logs/analysis/export/{model}/{dataset}.log",
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/export.py"


rule matched:
    input:
        unpack(matched_inputs),
    output:
        table="results/analysis/matched/{family}/{dataset}.csv",
        plot=report(
            "results/analysis/matched/{family}/{dataset}.png",
            caption="../report/matched.rst",
            category="Compute-matched",
            labels={"family": "{family}", "dataset": "{dataset}"},
        ),
    params:
        models=matched_models,
        flops_models=lambda w: matched_models(w, "flops"),
        cost_models=lambda w: matched_models(w, "price"),
        title=lambda w: f"{w.family} on {w.dataset}",
        dataset_models=lambda w: models_on(w.dataset),  # the report page's colour order (report.model_colours)
    log:
        "results/logs/analysis/matched/{family}/{dataset}.log",
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/matched.py"


rule allocate:
    input:
        merged=lambda w: [f"results/merged/{m}/{w.dataset}.parquet" for m in _allocate_models(w.dataset)],
        costs=lambda w: [f"results/analysis/{'cost' if _allocate_cost() == 'dollars' else 'flops'}/{m}/"
                         f"{w.dataset}.problems.csv" for m in _allocate_models(w.dataset)],
    output:
        "results/analysis/allocate/{dataset}.csv",
    params:
        models=lambda w: _allocate_models(w.dataset),
        cost=_allocate_cost(),
        bins=_acfg("allocate", "bins", default=5),
        budgets=_acfg("allocate", "budgets"),
    log:
        "results/logs/analysis/allocate/{dataset}.log",
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/allocate.py"
