"""Verified-correct samples as a fine-tuning set (chat format jsonl), per model × dataset.

Repeated sampling plus a verifier turns inference compute into training data (rejection sampling / STaR-style
self-training): every sample the verifier accepted becomes a (question → completion) pair. Exact duplicate
completions of the same problem (after whitespace normalisation) are kept once.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pandas as pd

from . import io
from .contracts import require_columns

log = logging.getLogger(__name__)


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def correct_pairs(problems: pd.DataFrame, samples: pd.DataFrame, merged: pd.DataFrame,
                  max_per_problem: int | None = None) -> pd.DataFrame:
    """One row per distinct verified-correct completion: problem_id, sample_index, question, text."""
    require_columns(problems, ["problem_id", "question"], "problems table")
    require_columns(samples, ["problem_id", "sample_index", "text"], "samples table")
    require_columns(merged, ["problem_id", "sample_index", "correct"], "merged table")
    ok = merged.loc[merged["correct"].astype(bool), ["problem_id", "sample_index"]]
    df = ok.merge(samples[["problem_id", "sample_index", "text"]], on=["problem_id", "sample_index"], how="left",
                  validate="one_to_one")
    if df["text"].isna().any():
        miss = df[df["text"].isna()].iloc[0]
        raise ValueError(f"export: correct sample {miss['problem_id']}/{miss['sample_index']} has no text in the "
                         "samples shards")
    df = df.merge(problems[["problem_id", "question"]], on="problem_id", how="left", validate="many_to_one")
    if df["question"].isna().any():
        raise ValueError(f"export: problem {df[df['question'].isna()].iloc[0]['problem_id']!r} not in problems table")
    df["_key"] = df["text"].map(_norm)
    df = df[df["_key"] != ""].sort_values(["problem_id", "sample_index"])
    df = df.drop_duplicates(["problem_id", "_key"]).drop(columns="_key")
    if max_per_problem is not None:
        df = df.groupby("problem_id", sort=True).head(max_per_problem)
    return df.reset_index(drop=True)


def to_chat_jsonl(pairs: pd.DataFrame, model: str, dataset: str, path: str | Path,
                  system: str | None = None) -> int:
    """Write chat-format records ({"messages": [...], plus ids}) atomically; returns the record count."""
    lines = []
    for r in pairs.itertuples():
        msgs = ([{"role": "system", "content": system}] if system else []) + [
            {"role": "user", "content": r.question}, {"role": "assistant", "content": r.text}]
        lines.append(json.dumps({"messages": msgs, "model": model, "dataset": dataset,
                                 "problem_id": r.problem_id, "sample_index": int(r.sample_index)},
                                ensure_ascii=False))
    io.write_text("".join(line + "\n" for line in lines), path)
    return len(lines)


def export(problems_path, sample_paths, merged_path, out_path, model: str, dataset: str,
           max_per_problem: int | None = None, system: str | None = None) -> int:
    """The export rule: every verified-correct sample as one chat-format JSONL line (analysis.export)."""
    problems = io.read_parquet(problems_path, columns=["problem_id", "question"])
    samples = pd.concat([io.read_parquet(p, columns=["problem_id", "sample_index", "text"]) for p in sample_paths],
                        ignore_index=True)
    merged = io.read_parquet(merged_path, columns=["problem_id", "sample_index", "correct"])
    n = to_chat_jsonl(correct_pairs(problems, samples, merged, max_per_problem), model, dataset, out_path, system)
    log.info("exported %d verified-correct samples", n)
    return n
