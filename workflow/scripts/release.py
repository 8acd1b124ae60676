from infscale import release
from infscale.cli import run_logged

i, o = snakemake.input, snakemake.output
if snakemake.rule == "release_agreement":
    run_logged(snakemake.log[0], release.agreement, i.problems, list(i.samples), list(i.verdicts),
               snakemake.params.options, o.table, o.disagree, snakemake.threads)
else:
    run_logged(snakemake.log[0], release.import_release, snakemake.params.job, i.problems, list(o.samples),
               list(o.verdicts), o.merged)
