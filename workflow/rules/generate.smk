rule generate_shard:
    input:
        problems=layout.PROBLEMS,
        model=model_checkpoint,
        plan=adaptive_plan,
    output:
        layout.SAMPLES,
    wildcard_constraints:
        model=generated_model_constraint(),  # release pairs come from import_release
    params:
        job=lambda wc: infscale_config.generate_job(config, wc.model, wc.dataset),
    log:
        "results/logs/generate_shard/{model}/{dataset}/{shard}.log",
    benchmark:
        "results/benchmarks/generate_shard/{model}/{dataset}/{shard}.tsv"
    threads: 8  # scaled down to --cores locally, so one shard at a time owns the CPU
    resources:
        gpu=lambda wc: infscale_config.gpus(config, wc.model),
        cpus_per_gpu=8,
        mem_mb=lambda wc, attempt: 32000 * attempt,
        runtime=lambda wc, attempt: 240 * attempt,
    conda:
        "../../envs/generate.yaml"
    script:
        "../scripts/generate_shard.py"
