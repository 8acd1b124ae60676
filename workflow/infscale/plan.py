"""Compute plan: what a config will cost before anything runs on a GPU.

One row per model × dataset: problems, samples, jobs, prompt tokens, expected decode tokens, FLOPs and
estimated GPU-hours. Inputs are plain dicts (the validated config) plus two optional folders:
  - results/problems/{dataset}.parquet: when present, problems are counted and prompt tokens estimated from
    the question text (chars / chars_per_token); otherwise `plan.problems` / `datasets.<d>.subset.n` and
    `plan.prompt_tokens` (mean tokens per problem) from the config are used.
  - results/benchmarks/generate_shard/{model}/{dataset}/{shard}.tsv (Snakemake `benchmark:` files): when finished
    shards exist, GPU-hours come from their mean wall time × shards × GPUs per job; otherwise from
    `plan.throughput_tok_s` (decode tokens per second of one generation job, keyed by model name or family).

Token and FLOP accounting follows Brown et al. 2024 (Large Language Monkeys, arXiv 2407.21787): the prompt is
processed once per problem and each of the K samples decodes D tokens, D = max_tokens × fill (expected share
of the token budget a sample uses). FLOPs are infscale.flops.inference_flops_v3, summed over problems.

Config keys used (documented in config/README.md):
  models.<m>.shape: {n_params, n_layers, d_model} or {config_json} (the one shape key, also read by the FLOPs
  rules; GGUF and local models may read their config.json instead)   models.<m>.family   models.<m>.tensor_parallel
  plan.fill (default 0.5)   plan.chars_per_token (default 4)   plan.throughput_tok_s: {model|family: tok/s}
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

DEFAULT_FILL = 0.5
DEFAULT_CHARS_PER_TOKEN = 4.0

COLUMNS = ["model", "dataset", "problems", "samples_per_problem", "samples", "generate_jobs", "verify_jobs",
           "gpus_per_job", "prompt_tokens", "decode_tokens", "flops", "gpu_hours", "gpu_hours_source",
           "problems_source"]


COUNT_COLUMNS = ["problems", "samples_per_problem", "samples", "generate_jobs", "verify_jobs", "gpus_per_job"]
FLOAT_COLUMNS = ["prompt_tokens", "decode_tokens", "flops", "gpu_hours"]


def _problem_prompt_tokens(config: dict, dataset: str, problems_dir: Path | None) -> tuple[np.ndarray | None, int | None, str]:
    """(prompt tokens per problem or None, problem count or None, where they came from)."""
    plan = config.get("plan", {})
    if problems_dir is not None:
        path = Path(problems_dir) / f"{dataset}.parquet"
        if path.exists():
            questions = pd.read_parquet(path, columns=["question"])["question"].astype(str)
            cpt = float(plan.get("chars_per_token", DEFAULT_CHARS_PER_TOKEN))
            return questions.str.len().to_numpy(dtype=np.float64) / cpt, len(questions), "problems file"
    n = plan.get("problems", {}).get(dataset) or config["datasets"][dataset].get("subset", {}).get("n")
    mean_tokens = plan.get("prompt_tokens", {}).get(dataset)
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
    table = config.get("plan", {}).get("throughput_tok_s", {})
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
    plan = config.get("plan", {})
    k = cfg.samples(config, dataset)
    n_shards = len(cfg.shards(config, dataset))
    max_tokens = int(cfg.sampling(config, model, dataset)["max_tokens"])
    fill = float(plan.get("fill", DEFAULT_FILL))
    gpus = int(config["models"][model].get("tensor_parallel", 1))
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


def run_plan(config: dict, problems_dir, bench_dir, csv_path, txt_path) -> pd.DataFrame:
    """The `plan` rule: build the plan, write it (CSV and text) and print the table."""
    df = build_plan(config, problems_dir, bench_dir)
    print(write_plan(df, csv_path, txt_path))
    return df
