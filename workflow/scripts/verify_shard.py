from infscale.cli import run_logged
from infscale.verify import verify_shard

run_logged(snakemake.log[0], verify_shard, snakemake.input.problems, snakemake.input.samples, snakemake.output[0],
           snakemake.params.options, snakemake.threads)
