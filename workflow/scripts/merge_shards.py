from infscale.cli import run_logged
from infscale.merge import merge_shards

w = snakemake.wildcards
run_logged(snakemake.log[0], merge_shards, w.model, w.dataset, list(snakemake.input.samples),
           list(snakemake.input.verdicts), snakemake.output[0])
