from infscale.cli import run_logged
from infscale.paper import write_comparison

i, p = snakemake.input, snakemake.params
run_logged(snakemake.log[0], write_comparison, i.published, p.pairs, dict(zip(p.fit_subsets, i.fits)),
           dict(zip(p.coverage_subsets, i.coverage)), dict(zip(p.matched_subsets, i.matched)), snakemake.output[0])
