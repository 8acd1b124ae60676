from infscale import report
from infscale.cli import run_logged

i, o, p = snakemake.input, snakemake.output, snakemake.params
run_logged(snakemake.log[0], report.write_report, p.dataset, p.palette, dict(zip(p.models, i.coverage)),
           dict(zip(p.models, i.fits)), dict(zip(p.models, i.forecasts)), dict(zip(p.flops_models, i.flops)),
           dict(zip(p.cost_models, i.costs)), dict(zip(p.selection_models, i.selection)),
           dict(zip(p.selection_models, i.selection_gap)), (list(i.allocate) or [None])[0], dict(p.families),
           list(p.notes), {k: o[k] for k in o.keys()})
