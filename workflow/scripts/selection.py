from infscale import selection
from infscale.cli import run_logged

o, p = snakemake.output, snakemake.params
run_logged(snakemake.log[0], selection.run, snakemake.input[0], o.curve, p.ks, int(p.trials), int(p.seed), o.gap,
           o.verifiers)
