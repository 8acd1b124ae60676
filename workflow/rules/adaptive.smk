# Adaptive sampling simulated on the stored samples in index order (Reset-and-Discard, Meir et al. 2026): how many
# samples stopping solved problems would have spent for the same coverage as uniform sampling. The checkpoint
# that would steer live shards (issue 15 item 4) is not built; this measures what it would save.
rule adaptive:
    input:
        "results/merged/{model}/{dataset}.parquet",
    output:
        "results/analysis/adaptive/{model}/{dataset}.csv",
    params:
        solved=_acfg("adaptive", "solved", default=[1]),
    log:
        "results/logs/analysis/adaptive/{model}/{dataset}.log",
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/adaptive.py"
