rule merge_shards:
    input:
        samples=shard_files(layout.SAMPLES),
        verdicts=shard_files(layout.VERDICTS),
    output:
        layout.MERGED,
    wildcard_constraints:
        model=generated_model_constraint(),  # release pairs come from import_release
    log:
        "results/logs/merge_shards/{model}/{dataset}.log",
    localrule: True
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/merge_shards.py"
