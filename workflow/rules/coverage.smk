rule coverage:
    input:
        "results/merged/{model}/{dataset}.parquet",
    output:
        table="results/analysis/coverage/{model}/{dataset}.csv",
        problems="results/analysis/problems/{model}/{dataset}.csv",
        plot=report(
            "results/analysis/coverage/{model}/{dataset}.png",
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
