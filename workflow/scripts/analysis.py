from infscale.analysis import run_job

run_job(snakemake.rule, snakemake.input, snakemake.output, snakemake.params, snakemake.log[0])
