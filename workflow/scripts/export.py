from infscale import export
from infscale.cli import run_logged

i, w, p = snakemake.input, snakemake.wildcards, snakemake.params
run_logged(snakemake.log[0], export.export, i.problems, list(i.samples), i.merged, snakemake.output[0],
           model=w.model, dataset=w.dataset, max_per_problem=p.max_per_problem, system=p.system)
