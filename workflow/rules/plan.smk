# Compute plan: `snakemake plan` prints and writes results/plan/plan.{csv,txt}; runs nothing on a GPU.
# The rule has no output on purpose, so it runs every time it is asked for and picks up newly finished
# shards' benchmark files. Declare it in the Snakefile's `localrules:`.
rule plan:
    params:
        problems_dir="results/problems",
        bench_dir="results/benchmarks/generate_shard",
        verdicts_dir="results/verdicts",
        forecast_csv="results/plan/forecast.csv",
        csv="results/plan/plan.csv",
        txt="results/plan/plan.txt",
    log:
        "results/logs/plan.log",
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/plan.py"
