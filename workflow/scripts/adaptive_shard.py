from infscale.adaptive import write_next_shard
from infscale.cli import run_logged

run_logged(snakemake.log[0], write_next_shard, snakemake.input.problems, list(snakemake.input.verdicts),
           snakemake.output[0], samples_per_shard=snakemake.params.samples_per_shard, **snakemake.params.policy)
