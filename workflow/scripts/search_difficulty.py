from infscale.cli import run_logged
from infscale.search.run import difficulty

w, o = snakemake.wildcards, snakemake.output
run_logged(snakemake.log[0], difficulty, snakemake.input.merged, list(snakemake.input.prm),
           list(snakemake.input.strategies), {k: o[k] for k in o.keys()}, model=w.model, dataset=w.dataset,
           **snakemake.params.job)
