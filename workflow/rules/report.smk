# One report page: `snakemake --report report.html` collects every report() output below with its caption
# from workflow/report/. One job per dataset gathers all models' analysis CSVs (a cross-model rule).

REPORT_OUT = layout.report_outputs()  # name → results/report/{dataset}/<file>


rule report_dataset:
    input:
        unpack(report_inputs),
    output:
        coverage_png=report(REPORT_OUT["coverage_png"], caption="../report/coverage_k.rst",
                            category="{dataset}", subcategory="coverage vs k"),
        flops_png=report(REPORT_OUT["flops_png"], caption="../report/flops.rst",
                         category="{dataset}", subcategory="coverage vs FLOPs"),
        measures_png=report(REPORT_OUT["measures_png"], caption="../report/measures.rst",
                            category="{dataset}", subcategory="pass^k and coverage at cost"),
        cost_png=report(REPORT_OUT["cost_png"], caption="../report/cost.rst",
                        category="{dataset}", subcategory="cost-matched"),
        selection_png=report(REPORT_OUT["selection_png"], caption="../report/selection.rst",
                             category="{dataset}", subcategory="selection"),
        gap_png=report(REPORT_OUT["gap_png"], caption="../report/gap.rst",
                       category="{dataset}", subcategory="verification gap"),
        allocate_png=report(REPORT_OUT["allocate_png"], caption="../report/allocate.rst",
                            category="{dataset}", subcategory="allocation"),
        coverage_table=report(REPORT_OUT["coverage_table"], caption="../report/tables.rst",
                              category="{dataset}", subcategory="tables"),
        fit_table=report(REPORT_OUT["fit_table"], caption="../report/tables.rst",
                         category="{dataset}", subcategory="tables"),
        cost_table=report(REPORT_OUT["cost_table"], caption="../report/tables.rst",
                          category="{dataset}", subcategory="tables"),
    params:
        dataset=param(layout.report_params, "dataset"),
        models=param(layout.report_params, "models"),
        flops_models=param(layout.report_params, "flops_models"),
        cost_models=param(layout.report_params, "cost_models"),
        notes=param(layout.report_params, "notes"),
        selection_models=param(layout.report_params, "selection_models"),
        families=param(layout.report_params, "families"),
        palette=param(layout.report_params, "palette"),  # colour order (report.model_colours)
    log:
        "results/logs/report/{dataset}.log",
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/report_dataset.py"
