# Released samples (issue 10; Brown et al. 2024 released theirs as ScalingIntelligence/monkey_business): a model ×
# dataset pair with models.<m>.releases.<d> is imported instead of generated, verified and merged. import_release
# writes the standard samples and verdicts shards and the merged table, so coverage, fits, FLOPs, cost, selection,
# allocation, export and the report run unchanged. The wildcard constraints give each of those files one producer
# (common.smk: release_model_constraint / generated_model_constraint).
rule import_release:
    input:
        unpack(release_inputs),
    output:
        samples=release_shard_files(layout.SAMPLES),
        verdicts=release_shard_files(layout.VERDICTS),
        merged=layout.MERGED,
    wildcard_constraints:
        model=release_model_constraint(),
    params:
        job=lambda w: infscale_config.canonical(infscale_release.import_job(config, w.model, w.dataset)),
    log:
        "results/logs/import_release/{model}/{dataset}.log",
    benchmark:
        "results/benchmarks/import_release/{model}/{dataset}.tsv"
    resources:
        mem_mb=lambda wc, attempt: 8000 * attempt,
        runtime=lambda wc, attempt: 60 * attempt,
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/import_release.py"


# models.<m>.releases.<d>.reverify: the imported samples through infscale's own verifier (the verify stage's code
# path), against the release's is_corrects: counts per (release, infscale) verdict and the disagreeing samples.
rule release_agreement:
    input:
        problems=layout.PROBLEMS,
        samples=release_shard_files(layout.SAMPLES),
        verdicts=release_shard_files(layout.VERDICTS),
    output:
        table=layout.AGREEMENT,
        disagree=layout.AGREEMENT_DISAGREE,
    params:
        options=lambda w: infscale_config.verify_options(config, w.dataset),
    log:
        "results/logs/release_agreement/{model}/{dataset}.log",
    threads: 2
    resources:
        mem_mb=lambda wc, attempt: 8000 * attempt,
        runtime=lambda wc, attempt: 240 * attempt,
    conda:
        "../../envs/verify.yaml"
    script:
        "../scripts/release_agreement.py"
