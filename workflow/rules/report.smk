# One report page: `snakemake --report report.html` collects every report() output below with its caption
# from workflow/report/. One job per dataset gathers all models' analysis CSVs (a cross-model rule).


rule report_dataset:
    input:
        unpack(_report_inputs),
    output:
        coverage_png=report("results/report/{dataset}/coverage.png", caption="../report/coverage_k.rst",
                            category="{dataset}", subcategory="coverage vs k"),
        flops_png=report("results/report/{dataset}/flops.png", caption="../report/flops.rst",
                         category="{dataset}", subcategory="coverage vs FLOPs"),
        measures_png=report("results/report/{dataset}/measures.png", caption="../report/measures.rst",
                            category="{dataset}", subcategory="pass^k and coverage at cost"),
        cost_png=report("results/report/{dataset}/cost.png", caption="../report/cost.rst",
                        category="{dataset}", subcategory="cost-matched"),
        selection_png=report("results/report/{dataset}/selection.png", caption="../report/selection.rst",
                             category="{dataset}", subcategory="selection"),
        gap_png=report("results/report/{dataset}/gap.png", caption="../report/gap.rst",
                       category="{dataset}", subcategory="verification gap"),
        allocate_png=report("results/report/{dataset}/allocate.png", caption="../report/allocate.rst",
                            category="{dataset}", subcategory="allocation"),
        coverage_table=report("results/report/{dataset}/coverage.csv", caption="../report/tables.rst",
                              category="{dataset}", subcategory="tables"),
        fit_table=report("results/report/{dataset}/fits.csv", caption="../report/tables.rst",
                         category="{dataset}", subcategory="tables"),
        cost_table=report("results/report/{dataset}/cost_matched.csv", caption="../report/tables.rst",
                          category="{dataset}", subcategory="tables"),
    params:
        dataset=lambda w: w.dataset,
        models=lambda w: models_on(w.dataset),
        flops_models=lambda w: models_on(w.dataset, "flops"),
        cost_models=lambda w: models_on(w.dataset, "price"),
        notes=lambda w: token_notes(w.dataset),
        selection_models=lambda w: _selection_models(w.dataset),
        families=lambda w: {m: infscale_config.family(config, m) for m in models_on(w.dataset)},
    log:
        "results/logs/report/{dataset}.log",
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/report_dataset.py"
