from infscale.cli import run_logged
from infscale.search.run import verify_and_merge

w = snakemake.wildcards
run_logged(snakemake.log[0], verify_and_merge, snakemake.input.problems, snakemake.input.samples,
           snakemake.output.verdicts, snakemake.output.merged, w.model, w.dataset, snakemake.params.options,
           snakemake.threads)
