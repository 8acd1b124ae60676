from infscale import cost
from infscale.cli import run_logged

i, o = snakemake.input, snakemake.output
run_logged(snakemake.log[0], cost.run, i.merged, i.curve, dict(snakemake.params.price), o.curve, o.problems)
