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
        bootstrap=param(layout.coverage_params, "bootstrap"),
        lenient=param(layout.coverage_params, "lenient"),
        adaptive=param(layout.coverage_params, "adaptive"),
    log:
        "results/logs/coverage/{model}/{dataset}.log",
    localrule: True
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/coverage.py"
