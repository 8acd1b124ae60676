# Verifier-guided test-time compute (Snell et al. 2024, arXiv 2408.03314): PRM scores of the repeated samples,
# one search per strategy (GPU), the strategies' final solutions through the ordinary verifier and merge, then
# difficulty bins / compute-optimal strategy and the FLOPs-matched exchange. Params come from the job's own model
# and dataset entries and the `search:` section. Needs common.smk (config lookups, model_checkpoint, shard_files).
from infscale.search import run as search_run


wildcard_constraints:
    strategy="|".join(search_run.strategies(config)) or "NO_STRATEGY",


rule search_prm_score:
    input:
        problems="results/problems/{dataset}.parquet",
        samples="results/samples/{model}/{dataset}/{shard}.parquet",
        model=model_checkpoint,
    output:
        "results/search/{model}/{dataset}/prm/{shard}.parquet",
    params:
        job=lambda wc: infscale_config.canonical(search_run.prm_job(config, wc.model, wc.dataset)),
    log:
        "results/logs/search_prm_score/{model}/{dataset}/{shard}.log",
    benchmark:
        "results/benchmarks/search_prm_score/{model}/{dataset}/{shard}.tsv"
    threads: 8  # scaled down to --cores locally
    resources:
        gpu=lambda wc: infscale_config.gpus(config, wc.model),
        mem_mb=16000,
        runtime=lambda wc, attempt: 60 * attempt,
    conda:
        "../../envs/generate.yaml"
    script:
        "../scripts/search_prm_score.py"


rule search_strategy:
    input:
        problems="results/problems/{dataset}.parquet",
        model=model_checkpoint,
    output:
        "results/search/{model}/{dataset}/{strategy}/samples.parquet",
    params:
        job=lambda wc: infscale_config.canonical(search_run.strategy_job(config, wc.model, wc.dataset, wc.strategy)),
    log:
        "results/logs/search_strategy/{model}/{dataset}/{strategy}.log",
    benchmark:
        "results/benchmarks/search_strategy/{model}/{dataset}/{strategy}.tsv"
    threads: 8  # scaled down to --cores locally
    resources:
        gpu=lambda wc: infscale_config.gpus(config, wc.model),
        mem_mb=16000,
        runtime=lambda wc, attempt: 240 * attempt,
    conda:
        "../../envs/generate.yaml"
    script:
        "../scripts/search_strategy.py"


rule search_verify:
    input:
        problems="results/problems/{dataset}.parquet",
        samples="results/search/{model}/{dataset}/{strategy}/samples.parquet",
    output:
        verdicts="results/search/{model}/{dataset}/{strategy}/verdicts.parquet",
        merged="results/search/{model}/{dataset}/{strategy}/merged.parquet",
    params:
        options=lambda wc: infscale_config.verify_options(config, wc.dataset),
    log:
        "results/logs/search_verify/{model}/{dataset}/{strategy}.log",
    benchmark:
        "results/benchmarks/search_verify/{model}/{dataset}/{strategy}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=lambda wc, attempt: 30 * attempt,
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/search_verify.py"


rule search_difficulty:
    input:
        merged="results/merged/{model}/{dataset}.parquet",
        prm=lambda wc: search_run.prm_paths(config, wc.model, wc.dataset),
        strategies=lambda wc: search_run.strategy_paths(config, wc.model, wc.dataset),
    output:
        bins="results/search/{model}/{dataset}/difficulty/bins.parquet",
        accuracy="results/search/{model}/{dataset}/difficulty/accuracy.csv",
        compute_optimal="results/search/{model}/{dataset}/difficulty/compute_optimal.csv",
        ratio="results/search/{model}/{dataset}/difficulty/ratio.csv",
        summary="results/search/{model}/{dataset}/difficulty/summary.json",
        plot="results/search/{model}/{dataset}/difficulty/accuracy.png",
    params:
        job=lambda wc: infscale_config.canonical(search_run.difficulty_job(config)),
    log:
        "results/logs/search_difficulty/{model}/{dataset}.log",
    localrule: True
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/search_difficulty.py"


rule search_exchange:
    input:
        bins="results/search/{model}/{dataset}/difficulty/bins.parquet",
        compute_optimal="results/search/{model}/{dataset}/difficulty/compute_optimal.csv",
        larger=lambda wc: search_run.larger_paths(config, wc.model, wc.dataset),
    output:
        table="results/search/{model}/{dataset}/exchange.csv",
        plot="results/search/{model}/{dataset}/exchange.png",
    params:
        job=lambda wc: infscale_config.canonical(search_run.exchange_job(config)),
    log:
        "results/logs/search_exchange/{model}/{dataset}.log",
    localrule: True
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/search_exchange.py"


rule search_all:
    input:
        search_run.targets(config),
