from infscale.cli import run_logged
from infscale.search.run import exchange

w = snakemake.wildcards
run_logged(snakemake.log[0], exchange, snakemake.input.bins, snakemake.input.compute_optimal, snakemake.output.table,
           snakemake.output.plot, model=w.model, dataset=w.dataset, larger_merged=(list(snakemake.input.larger) or [None])[0],
           **snakemake.params.job)
