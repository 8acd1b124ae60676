from infscale import release
from infscale.cli import run_logged

i, o = snakemake.input, snakemake.output
run_logged(snakemake.log[0], release.import_release, snakemake.params.job, i.problems, list(o.samples),
           list(o.verdicts), o.merged)
