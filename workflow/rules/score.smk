# Rewards per sample from each configured verifier (`score.verifiers`; off when absent): the merged table plus one
# reward_<verifier> column each (infscale.score). The selection rule reads this table when scoring is configured
# (infscale.layout.selection_input). Needs common.smk (config lookups, shard_files, model_checkpoint).
from infscale import score as infscale_score


rule score:
    input:
        problems=layout.PROBLEMS,
        samples=shard_files(layout.SAMPLES),
        merged=layout.MERGED,
        model=model_checkpoint,
    output:
        layout.SCORED,
    params:
        job=lambda wc: infscale_config.canonical(infscale_score.job(config, wc.model, wc.dataset)),
    log:
        "results/logs/score/{model}/{dataset}.log",
    benchmark:
        "results/benchmarks/score/{model}/{dataset}.tsv"
    threads: 8  # scaled down to --cores locally
    resources:
        gpu=lambda wc: infscale_score.gpus(config, wc.model),
        mem_mb=16000,
        runtime=lambda wc, attempt: 120 * attempt,
    conda:
        "../../envs/generate.yaml"
    script:
        "../scripts/score.py"
