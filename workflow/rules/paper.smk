# The paper-comparison table (report.paper_comparison names the published-values file): every number the Monkeys
# paper publishes that this plan's released samples let infscale recompute, with the published value, infscale's
# and the difference. A cross-model rule: it reads the fits, coverage and matched tables of the release subsets.
rule paper_comparison:
    input:
        unpack(paper_inputs),
    output:
        report(layout.PAPER, caption="../report/paper.rst", category="Paper comparison"),
    params:
        pairs=lambda w: infscale_config.canonical(paper_pairs()),
        fit_subsets=lambda w: paper_subsets("fit"),
        coverage_subsets=lambda w: paper_subsets("coverage"),
        matched_subsets=lambda w: paper_subsets("matched"),
    log:
        "results/logs/report/paper_comparison.log",
    localrule: True
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/paper_comparison.py"
