# Scaling-law fits and coverage forecasts (Brown et al. 2024, arXiv 2407.21787, Fig. 5; Schaeffer et al. 2025,
# arXiv 2502.17578): the exp(a·k^b) curve fits on the coverage table, and the pass-rate distributions fitted on
# the per-problem (n, c) table, each forecasting coverage up to k_max.
rule fit:
    input:
        curve=layout.COVERAGE,
        problems=layout.PROBLEM_COUNTS,
    output:
        fits=layout.FIT,
        forecast=layout.FORECAST,
        plot=report(
            layout.FIT_PNG,
            caption="../report/fit.rst",
            category="Coverage",
            subcategory="fits and forecasts",
            labels={"model": "{model}", "dataset": "{dataset}"},
        ),
    params:
        k_max=param(layout.fit_params, "k_max"),
        forecast=param(layout.fit_params, "forecast"),
    log:
        "results/logs/analysis/fit/{model}/{dataset}.log",
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/fit.py"
