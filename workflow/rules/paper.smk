# The paper-comparison table (report.paper_comparison names the published-values file): every number the Monkeys
# paper publishes that this plan's released samples let infscale recompute, with the published value, infscale's
# and the difference. A cross-model rule: it reads the fits, coverage and matched tables of the release subsets.
rule paper_comparison:
    input:
        unpack(paper_inputs),
    output:
        report(layout.PAPER, caption="../report/paper.rst", category="Paper comparison"),
    params:
        pairs=param(layout.paper_params, "pairs"),
        fit_subsets=param(layout.paper_params, "fit_subsets"),
        coverage_subsets=param(layout.paper_params, "coverage_subsets"),
        matched_subsets=param(layout.paper_params, "matched_subsets"),
    log:
        "results/logs/report/paper_comparison.log",
    localrule: True
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/paper_comparison.py"
