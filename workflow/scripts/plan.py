from infscale.cli import run_logged
from infscale.plan import run_plan

p = snakemake.params
run_logged(snakemake.log[0], run_plan, snakemake.config, p.problems_dir, p.bench_dir, p.csv, p.txt, p.verdicts_dir,
           p.forecast_csv)
