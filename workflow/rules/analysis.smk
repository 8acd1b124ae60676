# Analysis after the merge (Brown et al. 2024, arXiv 2407.21787; Snell et al. 2024, arXiv 2408.03314).
# Every rule reads the merged table (layout.MERGED) or an earlier analysis output and writes under results/analysis/
# (paths: infscale.layout). Per-(model, dataset) params come from that model's and dataset's entries and `analysis:`;
# only the cross-model rules (matched per family, allocate per dataset) list several models. A model's shape for
# FLOPs is its one key models.<m>.shape (infscale.config.shape_entry), the same the compute plan reads.
# Needs common.smk (`layout`, `infscale_config` and the lookups).
rule flops:
    input:
        merged=layout.MERGED,
        curve=layout.COVERAGE,
        model_config=model_config_input,
    output:
        curve=layout.FLOPS,
        problems=layout.FLOPS_PROBLEMS,
    params:
        shape=param(layout.flops_params, "shape"),
    log:
        "results/logs/analysis/flops/{model}/{dataset}.log",
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/flops.py"


rule cost:
    input:
        merged=layout.MERGED,
        curve=layout.COVERAGE,
    output:
        curve=layout.COST,
        problems=layout.COST_PROBLEMS,
    params:
        price=param(layout.cost_params, "price"),
    log:
        "results/logs/analysis/cost/{model}/{dataset}.log",
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/cost.py"


rule selection:
    input:
        # the merged table, or with `score.verifiers` the scored one (reward_<verifier> columns; score.smk)
        selection_input,
    output:
        curve=layout.SELECTION,
        gap=layout.SELECTION_GAP,
        verifiers=layout.VERIFIERS,
    params:
        **layout.selection_params(config),
    log:
        "results/logs/analysis/selection/{model}/{dataset}.log",
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/selection.py"


rule export:
    input:
        problems=layout.PROBLEMS,
        samples=shard_files(layout.SAMPLES),
        merged=layout.MERGED,
    output:
        layout.EXPORT,
    params:
        **layout.export_params(config),
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
        table=layout.MATCHED,
        plot=report(
            layout.MATCHED_PNG,
            caption="../report/matched.rst",
            category="Compute-matched",
            labels={"family": "{family}", "dataset": "{dataset}"},
        ),
    params:
        models=param(layout.matched_params, "models"),
        flops_models=param(layout.matched_params, "flops_models"),
        cost_models=param(layout.matched_params, "cost_models"),
        title=param(layout.matched_params, "title"),
        palette=param(layout.matched_params, "palette"),  # colour order (report.model_colours)
    log:
        "results/logs/analysis/matched/{family}/{dataset}.log",
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/matched.py"


rule allocate:
    input:
        unpack(allocate_inputs),
    output:
        layout.ALLOCATE,
    params:
        models=param(layout.allocate_params, "models"),
        cost=param(layout.allocate_params, "cost"),
        bins=param(layout.allocate_params, "bins"),
        budgets=param(layout.allocate_params, "budgets"),
    log:
        "results/logs/analysis/allocate/{dataset}.log",
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/allocate.py"
