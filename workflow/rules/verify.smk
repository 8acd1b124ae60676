rule verify_shard:
    input:
        problems=layout.PROBLEMS,
        samples=layout.SAMPLES,
    output:
        layout.VERDICTS,
    wildcard_constraints:
        model=generated_model_constraint(),  # release pairs come from import_release
    params:
        options=lambda wc: infscale_config.verify_options(config, wc.dataset),
    log:
        "results/logs/verify_shard/{model}/{dataset}/{shard}.log",
    benchmark:
        "results/benchmarks/verify_shard/{model}/{dataset}/{shard}.tsv"
    threads: infscale_config.verify_threads(config)  # verify.threads
    resources:
        mem_mb=lambda wc, attempt: 4000 * attempt,
        runtime=lambda wc, attempt: 30 * attempt,
    container:
        "envs/verify.sif"
    conda:
        "../../envs/verify.yaml"
    script:
        "../scripts/verify_shard.py"
