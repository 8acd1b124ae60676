from infscale.adaptive import write_adaptive
from infscale.cli import run_logged

run_logged(snakemake.log[0], write_adaptive, snakemake.input[0], snakemake.output[0], solved=snakemake.params.solved)
