# Forecast backtest (issue 15): forecast coverage at the full n from m ≤ n/10 samples per problem with every method
# (curve fits and pass-rate distributions) and compare with the full data. Reads the coverage stage's per-problem
# (n, c) table.
rule backtest:
    input:
        problems=layout.PROBLEM_COUNTS,
    output:
        table=layout.BACKTEST,
        plot=report(
            layout.BACKTEST_PNG,
            caption="../report/backtest.rst",
            category="Backtest",
            labels={"model": "{model}", "dataset": "{dataset}"},
        ),
    params:
        **layout.backtest_params(config),
    log:
        "results/logs/analysis/backtest/{model}/{dataset}.log",
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/backtest.py"
