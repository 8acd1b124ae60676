# Compute plan: `snakemake plan` prints and writes results/plan/plan.{csv,txt}; runs nothing on a GPU.
# The rule has no output on purpose, so it runs every time it is asked for and picks up newly finished
# shards' benchmark files. Declare it in the Snakefile's `localrules:`.
rule plan:
    params:
        **layout.plan_paths(),
    log:
        "results/logs/plan.log",
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/plan.py"
