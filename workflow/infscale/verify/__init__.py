"""Verification: one verifier per problem domain, all writing the verdict contract (contracts.VERDICT_COLUMNS).

A verifier is a function `verify(problems, samples, options, threads) -> DataFrame` where `problems` is the
problems table (problem_id, question, domain, reference, metadata…), `samples` the samples table of one shard,
and the result has one row per sample with VERDICT_COLUMNS. A sample that crashes a verifier gets a status
(verifier_error), never an exception that loses the shard.
"""

from __future__ import annotations

import importlib
import logging
import time

import pandas as pd

from .. import io
from ..contracts import PROBLEM_COLUMNS, SAMPLE_COLUMNS, VERDICT_COLUMNS, check_sample_indices, require_columns

log = logging.getLogger(__name__)

# domain -> (module, function)
VERIFIERS = {
    "math": ("infscale.verify.math", "verify"),
    "code_stdio": ("infscale.verify.code", "verify_stdio"),
    "code_function": ("infscale.verify.code", "verify_function"),
    "lean4": ("infscale.verify.lean4", "verify"),
    "swebench": ("infscale.verify.swebench", "verify"),
}


def get_verifier(domain: str):
    if domain not in VERIFIERS:
        raise ValueError(f"no verifier for domain {domain!r}; known: {', '.join(VERIFIERS)}")
    module, fn = VERIFIERS[domain]
    return getattr(importlib.import_module(module), fn)


def verify_frames(problems: pd.DataFrame, samples: pd.DataFrame, options: dict | None = None,
                  threads: int = 1) -> pd.DataFrame:
    require_columns(problems, PROBLEM_COLUMNS, "problems")
    require_columns(samples, SAMPLE_COLUMNS, "samples")
    check_sample_indices(samples, "samples")  # before any program runs
    domains = problems["domain"].unique()
    if len(domains) != 1:
        raise ValueError(f"problems table mixes domains {sorted(domains)}; one dataset has one domain")
    verifier = get_verifier(domains[0])
    used = problems[problems["problem_id"].isin(samples["problem_id"].unique())]
    out = verifier(used, samples, dict(options or {}), threads)
    require_columns(out, VERDICT_COLUMNS, f"verdicts from {domains[0]} verifier")
    if len(out) != len(samples):
        raise RuntimeError(f"verifier returned {len(out)} verdicts for {len(samples)} samples")
    return out[VERDICT_COLUMNS + [c for c in out.columns if c not in VERDICT_COLUMNS]]


def verify_shard(problems_path: str, samples_path: str, out_path: str, options: dict | None = None,
                 threads: int = 1) -> pd.DataFrame:
    """Verify one samples shard and write its verdicts atomically."""
    t0 = time.perf_counter()
    problems = io.read_parquet(problems_path)
    samples = io.read_parquet(samples_path)
    verdicts = verify_frames(problems, samples, options, threads)
    meta = {"source": str(samples_path), "samples_meta": io.read_metadata(samples_path), "options": options or {}}
    io.write_parquet(verdicts, out_path, meta)
    log.info("verified %d samples in %.1f s: %s", len(verdicts), time.perf_counter() - t0,
             verdicts["status"].value_counts().to_dict())
    return verdicts
