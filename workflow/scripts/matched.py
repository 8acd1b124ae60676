from infscale import matched
from infscale.cli import run_logged

i, o, p = snakemake.input, snakemake.output, snakemake.params
run_logged(snakemake.log[0], matched.run, dict(zip(p.models, i.counts)), dict(zip(p.flops_models, i.flops)),
           dict(zip(p.cost_models, i.costs)), o.table, o.plot, p.title, palette=p.palette)
