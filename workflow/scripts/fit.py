from infscale.cli import run_logged
from infscale.fit import write_fits

w, i, o, f = snakemake.wildcards, snakemake.input, snakemake.output, snakemake.params.forecast
run_logged(snakemake.log[0], write_fits, i.curve, i.problems, o.fits, o.forecast, o.plot, f"{w.model} on {w.dataset}",
           k_max=snakemake.params.k_max, n_boot=f["n_boot"], level=f["level"],
           seed=f["seed"])
