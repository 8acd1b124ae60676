from infscale import flops
from infscale.cli import run_logged

i, o = snakemake.input, snakemake.output
run_logged(snakemake.log[0], flops.run, i.merged, i.curve, dict(snakemake.params.shape),
           (list(i.model_config) or [None])[0], o.curve, o.problems)
