rule merge_shards:
    input:
        samples=shard_files("samples"),
        verdicts=shard_files("verdicts"),
    output:
        "results/merged/{model}/{dataset}.parquet",
    wildcard_constraints:
        model=generated_model_constraint(),  # release pairs come from import_release
    log:
        "results/logs/merge_shards/{model}/{dataset}.log",
    localrule: True
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/merge_shards.py"
