"""Entry points of the search stage (one per rule); the per-job config lookups and the paths below live in
infscale.layout (search_pairs, strategy_job, prm_job, difficulty_job, exchange_job, SEARCH_*). Outputs:
  results/search/{model}/{dataset}/prm/{shard}.parquet          PRM step scores of the repeated samples
  results/search/{model}/{dataset}/{strategy}/samples.parquet   one final solution per (problem, strategy, N)
  results/search/{model}/{dataset}/{strategy}/verdicts.parquet  through infscale.verify, unchanged
  results/search/{model}/{dataset}/{strategy}/merged.parquet    through infscale.merge, unchanged (+ reward, ledger)
  results/search/{model}/{dataset}/difficulty/...               bins, accuracy, compute-optimal, budget ratio
  results/search/{model}/{dataset}/exchange.{csv,png}           FLOPs-matched comparison with a larger model
"""

from __future__ import annotations

import logging
import time

import pandas as pd

from .. import io
from ..contracts import require_columns

log = logging.getLogger(__name__)


# ---- engines ----------------------------------------------------------------------------------------------------

def subset(problems: pd.DataFrame, n: int | None) -> pd.DataFrame:
    """The search stage's questions: the first n of the problems table (all when n is None)."""
    return problems if n is None else problems.head(int(n)).reset_index(drop=True)


def policy(job: dict, checkpoint_dir: str | None):
    """The process's policy engine (infscale.engines.engine_for; on a GPU it leaves room for a pooling PRM)."""
    from ..engines import EngineError, engine_for
    from .prm import policy_engine_cfg

    engine = engine_for(job["source"], policy_engine_cfg(job["engine_cfg"], [job["prm_cfg"]]), checkpoint_dir)
    if engine.tokenizer is None:
        raise EngineError("the search stage needs a local engine with the model's tokenizer (it continues rendered "
                          "prompts step by step), not an OpenAI-compatible endpoint")
    return engine


def start(job: dict, checkpoint_dir: str | None):
    """The policy engine and the PRM scorer (a judge PRM shares the policy engine)."""
    from .prm import make_prm

    engine = policy(job, checkpoint_dir)
    return engine, make_prm(job["prm_cfg"], engine)


# ---- stage entry points -----------------------------------------------------------------------------------------

def prm_score(problems_path: str, samples_path: str, out_path: str, job: dict, checkpoint_dir: str | None = None,
              engines=None) -> pd.DataFrame:
    """Score every step of every repeated sample of the search questions with the PRM."""
    from .prm import aggregate, split_steps

    problems = subset(io.read_parquet(problems_path), job["problems_n"])
    samples = io.read_parquet(samples_path)
    require_columns(samples, ["problem_id", "sample_index", "text"], "samples")
    samples = samples[samples["problem_id"].isin(problems["problem_id"])].reset_index(drop=True)
    if engines:
        prm = engines[1]
    else:   # only a judge PRM needs the policy's engine
        from .prm import make_prm
        prm = make_prm(job["prm_cfg"], lambda: policy(job, checkpoint_dir))
    questions = dict(zip(problems["problem_id"], problems["question"]))
    steps = [split_steps(t, job["step_cfg"]["separator"]) for t in samples["text"]]
    t0 = time.perf_counter()
    scored = prm.score_all([questions[p] for p in samples["problem_id"]], steps)
    agg = job["prm_cfg"]["aggregation"]
    df = pd.DataFrame({
        "problem_id": samples["problem_id"], "sample_index": samples["sample_index"].astype("int64"),
        "n_steps": pd.array([len(s) for s in steps], dtype="int64"),
        "step_scores": [list(map(float, s)) for s in scored.scores],
        "reward": [aggregate(s, agg) for s in scored.scores],
        "verifier_prompt_tokens": pd.array(scored.prompt_tokens, dtype="int64"),
        "verifier_generated_tokens": pd.array(scored.generated_tokens, dtype="int64"),
    })
    io.write_parquet(df, out_path, {"model": job["model"], "dataset": job["dataset"], "prm": job["prm_cfg"],
                                    "separator": job["step_cfg"]["separator"], "source": str(samples_path),
                                    "seconds": time.perf_counter() - t0})
    return df


def search_strategy(problems_path: str, out_path: str, job: dict, checkpoint_dir: str | None = None,
                    engines=None) -> pd.DataFrame:
    from .strategies import run_strategy

    problems = subset(io.read_parquet(problems_path), job["problems_n"])
    engine, prm = engines or start(job, checkpoint_dir)
    df, meta = run_strategy(engine, prm, problems, model=job["model"], dataset=job["dataset"], name=job["name"],
                            spec=job["spec"], budgets=job["budgets"], sampling=job["sampling"],
                            step_cfg=job["step_cfg"], prompt_cfg=job["prompt_cfg"],
                            aggregation=job["prm_cfg"]["aggregation"], extraction=job.get("extraction"))
    io.write_parquet(df, out_path, meta)
    return df


def verify_and_merge(problems_path: str, samples_path: str, verdicts_path: str, merged_path: str, model: str,
                     dataset: str, options: dict | None = None, threads: int = 1) -> pd.DataFrame:
    """The strategy's final solutions through the ordinary verifier and merge (contract tables, unchanged)."""
    from ..merge import merge_frames
    from ..verify import verify_frames

    problems = io.read_parquet(problems_path)
    samples = io.read_parquet(samples_path)
    verdicts = verify_frames(problems, samples, options, threads)
    io.write_parquet(verdicts, verdicts_path, {"source": str(samples_path), "options": options or {}})
    merged = merge_frames(model, dataset, [(0, samples, verdicts)])
    io.write_parquet(merged, merged_path, {"model": model, "dataset": dataset, "samples_meta": io.read_metadata(samples_path)})
    return merged


def difficulty(merged_path: str, prm_paths: list[str], strategy_paths: list[str], out: dict, *, model: str,
               dataset: str, bins: int = 5, folds: int = 2, baseline: str = "best_of_n_weighted") -> dict:
    """Bins, per-bin accuracy, compute-optimal strategy (oracle and predicted bins) and the budget ratio."""
    from . import difficulty as dif

    results = pd.concat([io.read_parquet(p) for p in strategy_paths], ignore_index=True)
    prm = pd.concat([io.read_parquet(p) for p in prm_paths], ignore_index=True)
    merged = io.read_parquet(merged_path)
    merged = merged[merged["problem_id"].isin(results["problem_id"].unique())]
    table = dif.difficulty_table(merged, prm, bins)
    res = dif.analyse(results, table, baseline, folds)
    io.write_parquet(table, out["bins"])
    for key in ("accuracy", "compute_optimal", "ratio"):
        io.write_csv(res[key], out[key])
    ledger = (results.groupby(["strategy", "budget", "generations"])
              [["policy_prompt_tokens", "policy_generated_tokens", "verifier_prompt_tokens", "verifier_generated_tokens"]]
              .sum().reset_index())
    summary = {**res["summary"], "model": model, "dataset": dataset, "questions": int(len(table)),
               "ledger": ledger.to_dict("records")}
    io.write_json(summary, out["summary"])
    dif.plot(res["accuracy"], res["compute_optimal"], out["plot"], f"{model} / {dataset}: accuracy by oracle difficulty")
    return summary


def exchange(bins_path: str, co_path: str, out_csv: str, out_png: str, *, model: str, dataset: str, m: float,
             ratios: list[float], larger_merged: str | None = None) -> pd.DataFrame:
    from .exchange import exchange_table, plot

    table = io.read_parquet(bins_path)
    co = pd.read_csv(co_path)
    larger = io.read_parquet(larger_merged) if larger_merged else None
    ex = exchange_table(co, table, m, ratios, larger)
    io.write_csv(ex, out_csv)
    plot(ex, out_png, f"{model} / {dataset}: FLOPs-matched exchange, M={m:g}")
    return ex
