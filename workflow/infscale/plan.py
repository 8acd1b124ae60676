"""Compute plan: what a config will cost before anything runs on a GPU.

One row per model × dataset: problems, samples, jobs, prompt tokens, expected decode tokens, FLOPs and
estimated GPU-hours. Inputs are plain dicts (the validated config) plus two optional folders:
  - results/problems/{dataset}.parquet: when present, problems are counted and prompt tokens estimated from
    the question text (chars / chars_per_token); otherwise `plan.problems` / `datasets.<d>.subset.n` and
    `plan.prompt_tokens` (mean tokens per problem) from the config are used.
  - results/benchmarks/generate_shard/{model}/{dataset}/{shard}.tsv (Snakemake `benchmark:` files): when finished
    shards exist, GPU-hours come from their mean wall time × shards × GPUs per job; otherwise from
    `plan.throughput_tok_s` (decode tokens per second of one generation job, keyed by model name or family).
  - results/verdicts/{model}/{dataset}/{shard}.parquet: when verified shards exist, coverage at K_max is forecast
    from them (see build_forecast below; results/plan/forecast.csv).

Token and FLOP accounting follows Brown et al. 2024 (Large Language Monkeys, arXiv 2407.21787): the prompt is
processed once per problem and each of the K samples decodes D tokens, D = max_tokens × fill (expected share
of the token budget a sample uses). FLOPs are infscale.flops.inference_flops_v3, summed over problems.

Config keys used (documented in config/README.md):
  models.<m>.shape: {n_params, n_layers, d_model} or {config_json} (the one shape key, also read by the FLOPs
  rules; GGUF and local models may read their config.json instead)   models.<m>.family   models.<m>.tensor_parallel
  plan.fill   plan.chars_per_token (defaults: config/schema.yaml)   plan.throughput_tok_s: {model|family: tok/s}
  plan.problems: {dataset: n}   plan.prompt_tokens: {dataset: mean tokens per problem}
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from infscale import config as cfg
from infscale.flops import ModelShape, inference_flops_v3, resolve_shape
from infscale.io import write_text

COLUMNS = ["model", "dataset", "problems", "samples_per_problem", "samples", "generate_jobs", "verify_jobs",
           "gpus_per_job", "prompt_tokens", "decode_tokens", "flops", "gpu_hours", "gpu_hours_source",
           "problems_source"]


COUNT_COLUMNS = ["problems", "samples_per_problem", "samples", "generate_jobs", "verify_jobs", "gpus_per_job"]
FLOAT_COLUMNS = ["prompt_tokens", "decode_tokens", "flops", "gpu_hours"]


def _problem_prompt_tokens(config: dict, dataset: str, problems_dir: Path | None) -> tuple[np.ndarray | None, int | None, str]:
    """(prompt tokens per problem or None, problem count or None, where they came from)."""
    plan = config["plan"]
    if problems_dir is not None:
        path = Path(problems_dir) / f"{dataset}.parquet"
        if path.exists():
            questions = pd.read_parquet(path, columns=["question"])["question"].astype(str)
            cpt = float(plan["chars_per_token"])
            return questions.str.len().to_numpy(dtype=np.float64) / cpt, len(questions), "problems file"
    n = plan["problems"].get(dataset) or config["datasets"][dataset]["subset"].get("n")
    mean_tokens = plan["prompt_tokens"].get(dataset)
    if n is None:
        return None, None, "unknown"
    per_problem = None if mean_tokens is None else np.full(int(n), float(mean_tokens))
    return per_problem, int(n), "config"


def benchmark_seconds(bench_dir: Path | None, model: str, dataset: str) -> list[float]:
    """Wall seconds (column `s`) of each finished shard's Snakemake benchmark file."""
    if bench_dir is None:
        return []
    folder = Path(bench_dir) / model / dataset
    out = []
    for tsv in sorted(folder.glob("*.tsv")) if folder.is_dir() else []:
        try:
            df = pd.read_csv(tsv, sep="\t")
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError):
            continue  # a half-written or foreign file says nothing about throughput
        if "s" in df.columns and len(df):
            out.append(float(df["s"].iloc[-1]))
    return out


def _throughput(config: dict, model: str) -> float | None:
    table = config["plan"]["throughput_tok_s"]
    entry = config["models"][model]
    for key in (model, entry.get("family")):
        if key is not None and key in table:
            return float(table[key])
    return None


def model_shape(config: dict, model: str) -> ModelShape | None:
    """The model's shape from models.<m>.shape, the one key the FLOPs rules read too (infscale.flops.resolve_shape);
    None when it is not known before anything runs (no shape key, or its config.json does not exist yet)."""
    if not cfg.has_flops(config, model):
        return None
    try:
        return resolve_shape(cfg.shape_entry(config, model), cfg.model_config_json(config, model))
    except (FileNotFoundError, ValueError):
        return None


def plan_row(config: dict, model: str, dataset: str, problems_dir: Path | None = None,
             bench_dir: Path | None = None) -> dict:
    plan = config["plan"]
    k = cfg.samples(config, dataset)
    n_shards = len(cfg.shards(config, dataset))
    max_tokens = int(cfg.sampling(config, model, dataset)["max_tokens"])
    fill = float(plan["fill"])
    gpus = cfg.gpus(config, model)
    prompt, n_problems, problems_source = _problem_prompt_tokens(config, dataset, problems_dir)

    row = {"model": model, "dataset": dataset, "samples_per_problem": k, "generate_jobs": n_shards,
           "verify_jobs": n_shards, "gpus_per_job": gpus, "problems_source": problems_source}
    row["problems"] = n_problems
    row["samples"] = None if n_problems is None else n_problems * k
    decode_per_sample = max_tokens * fill
    row["decode_tokens"] = None if n_problems is None else n_problems * k * decode_per_sample
    row["prompt_tokens"] = None if prompt is None else float(prompt.sum())

    shape = model_shape(config, model)
    if shape is not None and prompt is not None:
        row["flops"] = float(np.sum(inference_flops_v3(shape.n_params, shape.n_layers, shape.d_model, prompt,
                                                       decode_per_sample, k)))
    else:
        row["flops"] = None

    measured = benchmark_seconds(bench_dir, model, dataset)
    tput = _throughput(config, model)
    if measured:
        row["gpu_hours"] = float(np.mean(measured)) * n_shards * gpus / 3600.0
        row["gpu_hours_source"] = f"benchmarks ({len(measured)}/{n_shards} shards)"
    elif tput is not None and row["decode_tokens"] is not None:
        row["gpu_hours"] = row["decode_tokens"] / tput * gpus / 3600.0
        row["gpu_hours_source"] = "throughput table"
    else:
        row["gpu_hours"] = None
        row["gpu_hours_source"] = "unknown"
    return row


def build_plan(config: dict, problems_dir: str | Path | None = None, bench_dir: str | Path | None = None) -> pd.DataFrame:
    """The plan table, one row per (model, dataset) pair of the config plus a TOTAL row."""
    rows = [plan_row(config, m, d, problems_dir and Path(problems_dir), bench_dir and Path(bench_dir))
            for m, d in cfg.pairs(config)]
    df = pd.DataFrame(rows, columns=COLUMNS)
    summed = ["problems", "samples", "generate_jobs", "verify_jobs", "prompt_tokens", "decode_tokens", "flops",
              "gpu_hours"]
    # a total is only given when every row has the value (NaN otherwise, shown as '?')
    total = {c: df[c].astype("Float64").sum(min_count=len(df)) if c in summed else None for c in COLUMNS}
    total.update(model="TOTAL", dataset="", gpu_hours_source="incomplete"
                 if (df["gpu_hours_source"] == "unknown").any() else "", problems_source="")
    df = pd.concat([df, pd.DataFrame([total], columns=COLUMNS)], ignore_index=True)
    for c in COUNT_COLUMNS:
        df[c] = pd.to_numeric(df[c]).round().astype("Int64")
    for c in FLOAT_COLUMNS:
        df[c] = pd.to_numeric(df[c]).astype("float64")
    return df


def _fmt(v) -> str:
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return "?"
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}"
    if isinstance(v, (float, np.floating)):
        return f"{v:.3g}" if abs(v) >= 1e6 or (v and abs(v) < 1) else f"{v:,.1f}"
    return str(v)


def format_plan(df: pd.DataFrame) -> str:
    """Fixed-width text table; '?' where the config gives no way to estimate a value."""
    shown = df.astype(object).map(_fmt)
    total = df["model"] == "TOTAL"
    shown.loc[total, ["samples_per_problem", "gpus_per_job"]] = ""
    return shown.to_string(index=False)


def write_plan(df: pd.DataFrame, csv_path: str | Path, txt_path: str | Path | None = None) -> str:
    text = format_plan(df)
    write_text(df.to_csv(index=False), csv_path)
    if txt_path is not None:
        write_text(text + "\n", txt_path)
    return text


def run_plan(config: dict, problems_dir, bench_dir, csv_path, txt_path, verdicts_dir=None,
             forecast_csv=None) -> pd.DataFrame:
    """The `plan` rule: build the plan, write it (CSV and text) and print the table; with `verdicts_dir`, also
    the coverage forecasts from the shards already verified (`forecast_csv`, printed below the plan)."""
    df = build_plan(config, problems_dir, bench_dir)
    print(write_plan(df, csv_path, txt_path))
    if verdicts_dir is not None and forecast_csv is not None:
        fc = build_forecast(config, verdicts_dir, bench_dir)
        write_text(fc.to_csv(index=False), forecast_csv)
        print("\nforecasts from finished shards (results/plan/forecast.csv):\n" + format_forecast(fc))
    return df


# ---- forecasts from finished shards (issue 15) ----
# For each model × dataset with verified shards, the pass-rate distributions of infscale.forecast are fitted on
# the per-problem (n_i, c_i) so far, and the lowest-AIC one forecasts coverage at K_max (the configured samples
# per problem) for these problems: a problem already solved stays solved, an unsolved one with n_i samples is
# solved with probability 1 − S(K)/S(n_i) (forecast.coverage_mixed_ci; bootstrap CI over problems). The next
# shard's expected gain is forecast coverage at n + S minus the exact coverage now, per GPU-hour of one shard.
FORECAST_COLUMNS = ["model", "dataset", "problems", "shards_done", "samples_done", "samples_target",
                    "coverage_now", "method", "forecast_at_target", "forecast_low", "forecast_high", "kind",
                    "next_shard_gain", "next_shard_gpu_hours", "gain_per_gpu_hour", "note"]
FORECAST_BOOT = 100


def finished_counts(verdicts_dir: Path, model: str, dataset: str, shards: list[int]) -> tuple[pd.DataFrame, int]:
    """Per-problem n and c over the verified shards that exist (and how many there are)."""
    from infscale.coverage import per_problem

    folder = Path(verdicts_dir) / model / dataset
    frames = [pd.read_parquet(p, columns=["problem_id", "correct"])
              for s in shards if (p := folder / f"{s}.parquet").exists()]
    if not frames:
        return pd.DataFrame(columns=["problem_id", "n", "c"]), 0
    return per_problem(pd.concat(frames, ignore_index=True)), len(frames)


def _shard_gpu_hours(config: dict, model: str, dataset: str, bench_dir, problems: int) -> float | None:
    """GPU-hours of one generation shard: finished shards' mean wall time, else the throughput table."""
    gpus = cfg.gpus(config, model)
    measured = benchmark_seconds(bench_dir and Path(bench_dir), model, dataset)
    if measured:
        return float(np.mean(measured)) * gpus / 3600.0
    tput = _throughput(config, model)
    if tput is None:
        return None
    fill = float(config["plan"]["fill"])
    decode = problems * cfg.samples_per_shard(config, dataset) * int(cfg.sampling(config, model, dataset)["max_tokens"]) \
        * fill
    return decode / tput * gpus / 3600.0


def forecast_row(config: dict, model: str, dataset: str, verdicts_dir, bench_dir=None,
                 n_boot: int = FORECAST_BOOT) -> dict:
    from infscale import forecast
    from infscale.coverage import coverage_from_counts
    from infscale.fit import solved_note

    target = cfg.samples(config, dataset)
    counts, done = finished_counts(verdicts_dir, model, dataset, cfg.shards(config, dataset))
    row = {"model": model, "dataset": dataset, "shards_done": done, "samples_target": target}
    if counts.empty:
        return {**row, "note": "no verified shard yet"}
    n, c = counts["n"].to_numpy(), counts["c"].to_numpy()
    row.update(problems=len(n), samples_done=int(n.min()),
               coverage_now=float(coverage_from_counts(n, c, [int(n.min())])[0]))
    dists = forecast.fit_all(n, c, n_boot=n_boot)
    d = forecast.best(dists)
    if d is None:
        return {**row, "note": "no problem solved yet: nothing to forecast from"}
    cov, lo, hi, exact = forecast.coverage_mixed_ci(n, c, [target], d)
    row.update(method=d.method, forecast_at_target=float(cov[0]), forecast_low=float(lo[0]),
               forecast_high=float(hi[0]), kind="exact" if exact[0] else "forecast",
               note=solved_note(int((c > 0).sum())))
    nxt = min(int(n.min()) + cfg.samples_per_shard(config, dataset), target)
    if nxt > int(n.min()):
        gain = float(forecast.coverage_mixed(n, c, [nxt], d)[0][0]) - row["coverage_now"]
        hours = _shard_gpu_hours(config, model, dataset, bench_dir, len(n))
        row.update(next_shard_gain=gain, next_shard_gpu_hours=hours,
                   gain_per_gpu_hour=gain / hours if hours else None)
    else:
        row.update(next_shard_gain=0.0, note=(row["note"] + "; " if row["note"] else "") + "all shards done")
    return row


def build_forecast(config: dict, verdicts_dir, bench_dir=None, n_boot: int = FORECAST_BOOT) -> pd.DataFrame:
    """One forecast row per (model, dataset) pair of the config."""
    rows = [forecast_row(config, m, d, verdicts_dir, bench_dir, n_boot) for m, d in cfg.pairs(config)]
    return pd.DataFrame(rows, columns=FORECAST_COLUMNS)


def format_forecast(df: pd.DataFrame) -> str:
    """Text table: forecast coverage at K with its CI, and expected coverage gain per GPU-hour of the next shard."""
    def pct(v):
        return "?" if v is None or pd.isna(v) else f"{100 * v:.1f}%"

    lines = []
    for r in df.itertuples():
        if pd.isna(r.samples_done):
            lines.append(f"{r.model} × {r.dataset}: {r.note}")
            continue
        shards = f"{int(r.shards_done)} shard{'' if r.shards_done == 1 else 's'}"
        head = (f"{r.model} × {r.dataset}: {shards}, {int(r.samples_done):,} samples/problem, "
                f"coverage {pct(r.coverage_now)}")
        if pd.isna(r.forecast_at_target):
            lines.append(f"{head}; {r.note}")
            continue
        label = "exact" if r.kind == "exact" else f"forecast, {r.method}"
        gain = "" if pd.isna(r.next_shard_gain) or r.next_shard_gain == 0 else \
            (f"; next shard +{100 * r.next_shard_gain:.2f} points"
             + ("" if pd.isna(r.gain_per_gpu_hour) else
                f" in {r.next_shard_gpu_hours:.3g} GPU-h = {100 * r.gain_per_gpu_hour:.3g} points/GPU-h"))
        note = f" [{r.note}]" if isinstance(r.note, str) and r.note else ""
        lines.append(f"{head} → {pct(r.forecast_at_target)} at K={int(r.samples_target):,} "
                     f"({label}; 95% CI {pct(r.forecast_low)}–{pct(r.forecast_high)}){gain}{note}")
    return "\n".join(lines)
