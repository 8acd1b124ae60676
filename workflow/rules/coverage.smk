rule coverage:
    input:
        layout.MERGED,
    output:
        table=layout.COVERAGE,
        problems=layout.PROBLEM_COUNTS,
        plot=report(
            layout.COVERAGE_PNG,
            caption="../report/coverage.rst",
            category="Coverage",
            labels={"model": "{model}", "dataset": "{dataset}"},
        ),
    params:
        bootstrap=_acfg("bootstrap", default={}),
        lenient=lambda wc: infscale_config.lenient_extraction(config, wc.dataset),
        adaptive=lambda wc: infscale_config.adaptive(config, wc.dataset) is not None,
    log:
        "results/logs/coverage/{model}/{dataset}.log",
    localrule: True
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/coverage.py"
