# Verifier-guided test-time compute (Snell et al. 2024, arXiv 2408.03314): PRM scores of the repeated samples,
# one search per strategy (GPU), the strategies' final solutions through the ordinary verifier and merge, then
# difficulty bins / compute-optimal strategy and the FLOPs-matched exchange. Params come from the job's own model
# and dataset entries and the `search:` section (infscale.layout). Needs common.smk (layout and its adapters).
wildcard_constraints:
    strategy="|".join(layout.strategies(config)) or "NO_STRATEGY",


rule search_prm_score:
    input:
        problems=layout.PROBLEMS,
        samples=layout.SAMPLES,
        model=model_checkpoint,
    output:
        layout.SEARCH_PRM,
    params:
        job=lambda wc: infscale_config.canonical(layout.prm_job(config, wc.model, wc.dataset)),
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
        problems=layout.PROBLEMS,
        model=model_checkpoint,
    output:
        layout.SEARCH_SAMPLES,
    params:
        job=lambda wc: infscale_config.canonical(layout.strategy_job(config, wc.model, wc.dataset, wc.strategy)),
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
        problems=layout.PROBLEMS,
        samples=layout.SEARCH_SAMPLES,
    output:
        verdicts=layout.SEARCH_VERDICTS,
        merged=layout.SEARCH_MERGED,
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
        merged=layout.MERGED,
        prm=search_prm_paths,
        strategies=search_strategy_paths,
    output:
        bins=layout.SEARCH_DIFFICULTY["bins"],
        accuracy=layout.SEARCH_DIFFICULTY["accuracy"],
        compute_optimal=layout.SEARCH_DIFFICULTY["compute_optimal"],
        ratio=layout.SEARCH_DIFFICULTY["ratio"],
        summary=layout.SEARCH_DIFFICULTY["summary"],
        plot=layout.SEARCH_DIFFICULTY["plot"],
    params:
        job=lambda wc: infscale_config.canonical(layout.difficulty_job(config)),
    log:
        "results/logs/search_difficulty/{model}/{dataset}.log",
    localrule: True
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/search_difficulty.py"


rule search_exchange:
    input:
        bins=layout.SEARCH_DIFFICULTY["bins"],
        compute_optimal=layout.SEARCH_DIFFICULTY["compute_optimal"],
        larger=search_larger_paths,
    output:
        table=layout.SEARCH_EXCHANGE,
        plot=layout.SEARCH_EXCHANGE_PNG,
    params:
        job=lambda wc: infscale_config.canonical(layout.exchange_job(config)),
    log:
        "results/logs/search_exchange/{model}/{dataset}.log",
    localrule: True
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/search_exchange.py"


rule search_all:
    input:
        search_targets(),
