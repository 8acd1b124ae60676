"""The score stage: a reward per sample from each configured verifier, as `reward_<verifier>` columns of the merged
table that the selection rule reads (Brown et al. 2024, arXiv 2407.21787, App. D: best-of-N and weighted vote on
reward-model scores; Weaver, Saad-Falcon et al. 2025, arXiv 2506.18203: ensembles of several verifiers).

Config `score.verifiers: {<name>: {kind, aggregation, ...}}` (off when absent; config/README.md):
- `judge`: the policy model itself asked "is the last step correct? Yes/No" per step prefix, reward
  P(Yes) / (P(Yes) + P(No)) from the first token's log-probabilities (search.prm.JudgePRM on the policy's engine;
  real vLLM, runs on CPU);
- `pooling`: a PRM/ORM on vLLM's pooling runner (engines.VLLMEngine.pool: `LLM(runner="pooling")`,
  `encode(pooling_task="token_classify")`; search.prm.PoolingPRM; GPU);
- `openai`: the same judge on any OpenAI-compatible chat endpoint that returns log-probabilities
  (search.prm.JudgePRM over engines.OpenAIEngine).
A solution is split into steps at `separator` (default "\\n\\n") and its step scores aggregated by `aggregation`
(last, min, prod = the product, mean; search.prm.aggregate). Samples without steps (empty text) get NaN.

Output: layout.SCORED = the merged table (contracts.MERGED_COLUMNS, unchanged) plus one float column per verifier. When
scoring is configured, the selection rule reads it instead of the merged table (layout.selection_input).
"""

from __future__ import annotations

import logging
import re

import pandas as pd

from . import config as cfg
from . import io
from .contracts import require_columns

log = logging.getLogger(__name__)

KINDS = ("judge", "pooling", "openai")
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def verifiers(config: dict) -> dict[str, dict]:
    """name → verifier spec with the schema's defaults filled in (score.verifiers.<v>); {} when scoring is off."""
    out = {}
    for name, spec in ((config.get("score") or {}).get("verifiers") or {}).items():
        if not _NAME.match(name):
            raise ValueError(f"score.verifiers: name {name!r} must match {_NAME.pattern}")
        if spec.get("kind") not in KINDS:
            raise ValueError(f"score.verifiers.{name}.kind must be one of {', '.join(KINDS)}, got {spec.get('kind')!r}")
        out[name] = cfg.with_defaults(spec, "score", "verifiers", name)
    return out


def enabled(config: dict, dataset: str) -> bool:
    """Scoring runs for the datasets selection runs on (math) when any verifier is configured."""
    return bool(verifiers(config)) and config["datasets"][dataset].get("domain") == "math"


def gpus(config: dict, model: str) -> int:
    """GPUs of the score job: the model's own count (config.gpus) when a verifier runs on vLLM (a judge on the
    policy engine, a pooling PRM), 0 when every verifier is an OpenAI-compatible endpoint."""
    on_vllm = any(v["kind"] in ("judge", "pooling") for v in verifiers(config).values())
    return cfg.gpus(config, model) if on_vllm else 0


def job(config: dict, model: str, dataset: str) -> dict:
    """Everything the score job needs from its own model entry and the `score` section."""
    m = config["models"][model]
    return {"model": model, "dataset": dataset, "source": m["source"], "engine_cfg": cfg.engine(config, model),
            "verifiers": verifiers(config)}


def make_scorers(job: dict, checkpoint_dir: str | None = None) -> dict:
    """name → scorer (search.prm.make_prm). Judges share the process's engine of the policy model, started only if
    one is asked (the search stage's judge is the same scorer)."""
    from .engines import engine_for
    from .search.prm import make_prm, policy_engine_cfg

    def policy():
        return engine_for(job["source"], policy_engine_cfg(job["engine_cfg"], job["verifiers"].values()), checkpoint_dir)

    specs = job["verifiers"]
    # judges first: the policy's engine starts before a pooling PRM, which then takes what it leaves of a GPU
    built = {name: make_prm(specs[name], policy) for name in sorted(specs, key=lambda n: specs[n]["kind"] != "judge")}
    return {name: built[name] for name in specs}


def score_table(problems: pd.DataFrame, samples: pd.DataFrame, merged: pd.DataFrame, specs: dict,
                scorers: dict) -> pd.DataFrame:
    """The merged table with one `reward_<name>` column per verifier (step scores aggregated per its spec)."""
    from .search.prm import aggregate, split_steps

    require_columns(samples, ["problem_id", "sample_index", "text"], "samples")
    require_columns(merged, ["problem_id", "sample_index"], "merged")
    questions = dict(zip(problems["problem_id"], problems["question"]))
    texts = samples[["problem_id", "sample_index", "text"]]
    rows = merged[["problem_id", "sample_index"]].merge(texts, on=["problem_id", "sample_index"], how="left")
    if rows["text"].isna().any():
        missing = rows[rows["text"].isna()].iloc[0]
        raise ValueError(f"sample {missing['problem_id']}/{missing['sample_index']} of the merged table has no text "
                         "in the samples")
    out = merged.copy()
    for name, spec in specs.items():
        steps = [split_steps(t, spec["separator"]) for t in rows["text"]]
        scored = scorers[name].score_all([questions[p] for p in rows["problem_id"]], steps)
        out[f"reward_{name}"] = pd.array([aggregate(s, spec["aggregation"]) for s in scored.scores], dtype="float64")
        log.info("verifier %s (%s): %d samples, %d steps, %d verifier prompt tokens", name, spec["kind"], len(steps),
                 sum(map(len, steps)), sum(scored.prompt_tokens))
    return out


def score(problems_path: str, samples_paths: list[str], merged_path: str, out_path: str, job: dict,
          checkpoint_dir: str | None = None, scorers: dict | None = None) -> pd.DataFrame:
    """Stage entry point: read, score with every configured verifier, write the scored merged table atomically."""
    problems = io.read_parquet(problems_path)
    samples = pd.concat([io.read_parquet(p, columns=["problem_id", "sample_index", "text"]) for p in samples_paths],
                        ignore_index=True)
    merged = io.read_parquet(merged_path)
    out = score_table(problems, samples, merged, job["verifiers"], scorers or make_scorers(job, checkpoint_dir))
    io.write_parquet(out, out_path, {"model": job["model"], "dataset": job["dataset"],
                                     "verifiers": {n: {k: v for k, v in s.items() if k != "api_key"}
                                                   for n, s in job["verifiers"].items()},
                                     "source": str(merged_path)})
    return out
