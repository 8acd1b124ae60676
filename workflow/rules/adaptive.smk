# Adaptive sampling simulated on the stored samples in index order (Reset-and-Discard, Meir et al. 2026): how many
# samples stopping solved problems would have spent for the same coverage as uniform sampling.
rule adaptive:
    input:
        layout.MERGED,
    output:
        layout.ADAPTIVE_SIM,
    params:
        **layout.adaptive_params(config),
    log:
        "results/logs/analysis/adaptive/{model}/{dataset}.log",
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/adaptive.py"


# The live policy (datasets.<d>.adaptive, opt-in): after each shard, this checkpoint writes the next shard's plan,
# the problems it samples and their index ranges. merge_shards walks the plans (common.smk shard_list) and stops
# at the first empty one, so finished shards are never redone and no shard runs once every problem is done.
checkpoint adaptive_shard:
    input:
        problems=layout.PROBLEMS,
        verdicts=earlier_verdicts,
    output:
        layout.ADAPTIVE_PLAN,
    wildcard_constraints:
        model=generated_model_constraint(),  # release pairs are imported whole
    params:
        policy=lambda wc: infscale_config.adaptive(config, wc.dataset),
        samples_per_shard=lambda wc: infscale_config.samples_per_shard(config, wc.dataset),
    log:
        "results/logs/adaptive_shard/{model}/{dataset}/{shard}.log",
    localrule: True
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/adaptive_shard.py"
