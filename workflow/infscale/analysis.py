"""Entry points of the analysis rules (workflow/rules/analysis.smk): paths in, atomic files out.

Each function reads only merged tables (contracts.MERGED_COLUMNS) or the outputs of earlier analysis rules and
calls the modules that hold the science: coverage, fit, flops, cost, selection, allocate, export.
Runnable without Snakemake: `python -m infscale.analysis coverage results/merged/m/d.parquet out.csv out2.csv`.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from . import allocate, cost, coverage, fit, flops, io, matched, selection
from .contracts import require_columns

log = logging.getLogger("infscale.analysis")

MERGED_NEEDED = ["problem_id", "sample_index", "correct"]


def _merged(path) -> pd.DataFrame:
    df = io.read_parquet(path)
    require_columns(df, MERGED_NEEDED, f"merged table {path}")
    if df.empty:
        raise ValueError(f"merged table {path} has no rows")
    return df


def run_fit(curve_csv, out_csv):
    curve = pd.read_csv(curve_csv)
    t = fit.fit_all(curve["k"].to_numpy(), curve["coverage"].to_numpy())
    io.write_csv(t, out_csv)
    return t


def run_flops(merged_path, curve_csv, shape: dict, model_config, out_curve, out_problems):
    """Coverage vs FLOPs (v3 and v1) from the model's shape (models.<m>.shape, or the HF config.json it points
    to: infscale.flops.resolve_shape) and the real token counts."""
    shp = flops.resolve_shape(shape, model_config)
    pf = flops.problem_flops(_merged(merged_path), shp)
    curve = flops.coverage_vs_flops(pd.read_csv(curve_csv), pf)
    curve["n_params"], curve["n_layers"], curve["d_model"] = shp.n_params, shp.n_layers, shp.d_model
    io.write_csv(curve, out_curve)
    io.write_csv(pf, out_problems)
    return curve


def run_cost(merged_path, curve_csv, price: dict, out_curve, out_problems):
    pa = cost.attempt_cost(_merged(merged_path), price)
    curve = pd.read_csv(curve_csv)
    out = cost.coverage_vs_cost(curve, pa)
    out["problems"] = curve["problems"] if "problems" in curve else len(pa)
    io.write_csv(out, out_curve)
    io.write_csv(pa, out_problems)
    return out


def run_selection(merged_path, out_csv, ks=None, trials: int = 100, seed: int = 0, out_gap=None,
                  out_verifiers=None):
    """Selection curve (selection.selection_curve); optionally the generation–verification gap table and each
    reward column's TPR / FPR / AUROC against the verdicts (ensemble.verifier_metrics)."""
    from . import ensemble

    m = _merged(merged_path)
    require_columns(m, ["extracted"], f"merged table {merged_path}")
    nmin = int(m.groupby("problem_id").size().min())
    ks = [k for k in (ks or coverage.log_ks(nmin, 12).tolist()) if k <= nmin]
    t = selection.selection_curve(m, ks, trials=trials, seed=seed)
    if out_gap is not None:
        io.write_csv(selection.gap_table(t), out_gap)
    if out_verifiers is not None:
        io.write_csv(ensemble.verifier_metrics(m, selection.reward_columns(m)), out_verifiers)
    io.write_csv(t, out_csv)
    return t


def run_matched(counts_csvs: dict, flops_csvs: dict, cost_csvs: dict, out_csv, out_png=None, title: str = "",
                budgets: dict | None = None, num: int = matched.DEFAULT_POINTS, dataset_models=None):
    """FLOPs- and dollar-matched comparison of one family on one task (infscale.matched).

    counts_csvs: model → per-problem n/c table (the coverage stage's results/analysis/problems/…);
    flops_csvs / cost_csvs: model → the flops / cost stage's per-problem table (.problems.csv);
    dataset_models: every model run on the task, so the figure colours each model as the report page does."""
    counts = {}
    for m, p in counts_csvs.items():
        t = pd.read_csv(p)
        require_columns(t, ["n", "c"], f"problem table {p}")
        counts[m] = (t["n"].to_numpy(), t["c"].to_numpy())
    lines = {"flops": {m: flops.flops_line(pd.read_csv(p), "v3") for m, p in flops_csvs.items()},
             "dollars": {m: cost.dollar_line(pd.read_csv(p)) for m, p in cost_csvs.items()}}
    t = matched.compare(counts, lines, budgets=budgets, num=num)
    io.write_csv(t, out_csv)
    if out_png is not None:
        from .report import fig_matched
        fig_matched(t, out_png, title, dataset_models)
    return t


def run_allocate(merged_paths: dict, problem_cost_csvs: dict, out_csv, cost_column: str = "flops_v3",
                 n_bins: int = 5, budgets=None, ks=None):
    """Compute-optimal allocation over models × difficulty bins for one dataset.

    problem_cost_csvs: model → per-problem cost table (flops `.problems.csv` with prefill_v3/decode_v3, or cost
    `.problems.csv` with dollars_per_attempt). Bins come from pass@1 over all models' samples pooled.
    """
    merged = {m: _merged(p) for m, p in merged_paths.items()}
    pooled = pd.concat([d[["problem_id", "sample_index", "correct"]] for d in merged.values()], ignore_index=True)
    bins = allocate.difficulty_bins(pooled, n_bins)
    nmin = min(int(d.groupby("problem_id").size().min()) for d in merged.values())
    ks = ks or sorted(set(int(2 ** i) for i in range(int(np.log2(nmin)) + 1)) | {nmin})
    curves, unit = [], []
    for m, d in merged.items():
        curves.append(allocate.bin_curves(d, bins, ks).assign(model=m))
        pc = pd.read_csv(problem_cost_csvs[m], dtype={"problem_id": str}).set_index("problem_id")
        pc["bin"] = bins.reindex(pc.index).to_numpy()
        if cost_column.startswith("flops"):
            v = cost_column.split("_")[1]
            g = pc.groupby("bin").agg(cost=(f"decode_{v}", "mean"), fixed=(f"prefill_{v}", "mean"))
        else:
            g = pc.groupby("bin").agg(cost=("dollars_per_attempt", "mean"))
        unit.append(g.reset_index().assign(model=m))
    curves, unit = pd.concat(curves, ignore_index=True), pd.concat(unit, ignore_index=True)
    if budgets is None:
        opts = allocate._options(curves, unit)
        lo = opts.groupby("bin")["total_cost"].min().min()
        hi = opts.groupby("bin")["total_cost"].max().sum()
        budgets = np.logspace(np.log10(lo), np.log10(hi), 12)
    t = allocate.frontier(curves, unit, budgets)
    t["cost_column"] = cost_column
    io.write_csv(t, out_csv)
    return t


def main(argv=None) -> int:
    """`python -m infscale.analysis STAGE ARGS…` for rerunning one job by hand."""
    argv = list(sys.argv[1:] if argv is None else argv)
    stages = {"coverage": coverage.write_coverage, "fit": run_fit, "selection": run_selection}
    if not argv or argv[0] not in stages:
        print(f"usage: python -m infscale.analysis {{{','.join(stages)}}} INPUT OUTPUT…", file=sys.stderr)
        return 2
    try:
        stages[argv[0]](*argv[1:])
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())


def _p(params, name, default=None):
    v = getattr(params, name, default) if params is not None else default
    return default if v is None else v


def run_job(rule: str, input, output, params, log_path) -> None:
    """Dispatch one analysis rule (the thin script calls this); errors are logged as one line and re-raised."""
    from .report import run_report  # report rules share the script bridge

    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(log_path, mode="w")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        if rule == "flops":
            cfg = input.model_config[0] if len(input.model_config) else None
            run_flops(input.merged, input.curve, dict(_p(params, "shape", {})), cfg, output.curve, output.problems)
        elif rule == "cost":
            run_cost(input.merged, input.curve, dict(_p(params, "price", {})), output.curve, output.problems)
        elif rule == "selection":
            run_selection(input[0], output.curve, _p(params, "ks"), int(_p(params, "trials", 100)),
                          int(_p(params, "seed", 0)), output.gap, output.verifiers)
        elif rule == "export":
            from .export import export
            n = export(input.problems, list(input.samples), input.merged, output[0],
                       model=Path(output[0]).parent.name, dataset=Path(output[0]).stem,
                       max_per_problem=_p(params, "max_per_problem"), system=_p(params, "system"))
            log.info("exported %d verified-correct samples", n)
        elif rule == "matched":
            run_matched(dict(zip(params.models, input.counts)), dict(zip(params.flops_models, input.flops)),
                        dict(zip(params.cost_models, input.costs)), output.table, output.plot, params.title,
                        dataset_models=_p(params, "dataset_models"))
        elif rule == "allocate":
            run_allocate(dict(zip(params.models, input.merged)), dict(zip(params.models, input.costs)), output[0],
                         cost_column=params.cost.replace("dollars", "dollars_per_attempt"),
                         n_bins=int(_p(params, "bins", 5)), budgets=_p(params, "budgets"))
        elif rule.startswith("report"):
            run_report(input, output, params)
        else:
            raise ValueError(f"no analysis entry point for rule {rule!r}")
        log.info("%s done: %s", rule, ", ".join(map(str, output)))
    except Exception as exc:
        log.error("%s failed: %s", rule, exc)
        raise
    finally:
        root.removeHandler(handler)
        handler.close()
