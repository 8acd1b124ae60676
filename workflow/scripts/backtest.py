from infscale.backtest import write_backtest
from infscale.cli import run_logged

w, o, b = snakemake.wildcards, snakemake.output, snakemake.params.backtest
run_logged(snakemake.log[0], write_backtest, snakemake.input.problems, o.table, o.plot, f"{w.model} on {w.dataset}",
           ms=b["ms"], repeats=b["repeats"], seed=b["seed"])
