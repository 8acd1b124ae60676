from infscale import allocate
from infscale.cli import run_logged

i, p = snakemake.input, snakemake.params
run_logged(snakemake.log[0], allocate.run, dict(zip(p.models, i.merged)), dict(zip(p.models, i.costs)),
           snakemake.output[0], cost_column=p.cost, n_bins=int(p.bins), budgets=p.budgets)
