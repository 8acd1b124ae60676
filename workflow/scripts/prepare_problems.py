from infscale.cli import run_logged
from infscale.problems import prepare_problems

run_logged(snakemake.log[0], prepare_problems, snakemake.wildcards.dataset, snakemake.params.spec, snakemake.output[0])
