from infscale import release
from infscale.cli import run_logged

i, o = snakemake.input, snakemake.output
run_logged(snakemake.log[0], release.agreement, i.problems, list(i.samples), list(i.verdicts),
           snakemake.params.options, o.table, o.disagree, snakemake.threads)
