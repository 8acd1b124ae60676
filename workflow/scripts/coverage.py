from infscale.cli import run_logged
from infscale.coverage import write_coverage

w, out, boot = snakemake.wildcards, snakemake.output, snakemake.params.bootstrap
run_logged(snakemake.log[0], write_coverage, snakemake.input[0], out.table, out.problems, out.plot,
           f"{w.model} on {w.dataset}", n_boot=boot["n"], level=boot["level"],
           seed=boot["seed"], lenient=snakemake.params.lenient,
           adaptive=snakemake.params.adaptive)
