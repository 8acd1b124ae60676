"""The stage contracts (README.md, "Contracts") as code: column lists, sample identity and seeds.

Every stage checks what it reads against these, so a missing field fails with one clear line.
"""

from __future__ import annotations

import hashlib

import pandas as pd

DOMAINS = ("math", "code_stdio", "code_function", "lean4", "swebench")

# results/problems/{dataset}.parquet
PROBLEM_COLUMNS = ["problem_id", "question", "domain", "reference"]
# results/samples/{model}/{dataset}/{shard}.parquet
SAMPLE_COLUMNS = [
    "problem_id", "sample_index", "text", "prompt_tokens", "completion_tokens", "finish_reason", "seed",
]
# results/verdicts/{model}/{dataset}/{shard}.parquet
VERDICT_COLUMNS = [
    "problem_id", "sample_index", "correct", "status", "extracted", "extraction", "verifier", "elapsed_ms",
    "isolation",
]
# How a verdict's answer was found: in the format the prompt asked for, by a lenient fallback (math:
# `verifier.extraction: lenient`), or not at all.
EXTRACTIONS = ("format", "fallback", "none")
VERDICT_STATUSES = (
    "correct", "wrong", "no_answer", "timeout", "runtime_error", "compile_error", "sandbox_error",
    "memory_limit", "output_limit", "verifier_error",
)
# results/merged/{model}/{dataset}.parquet: one row per sample, no text.
MERGED_COLUMNS = [
    "model", "dataset", "problem_id", "sample_index", "shard", "prompt_tokens", "completion_tokens",
    "finish_reason", "correct", "status", "extracted", "extraction", "verifier",
]


class ContractError(ValueError):
    """A table does not hold what its stage contract promises."""


def require_columns(df: pd.DataFrame, columns: list[str], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ContractError(f"{what}: missing column(s) {', '.join(missing)} (has {', '.join(map(str, df.columns))})")


def check_sample_indices(samples: pd.DataFrame, what: str) -> None:
    """sample_index must be a whole number >= 0, never missing, and (problem_id, sample_index) unique."""
    idx = pd.to_numeric(samples["sample_index"], errors="coerce")
    bad = samples["sample_index"].isna() | idx.isna()
    if bad.any():
        row = samples[bad].iloc[0]
        raise ContractError(f"{what}: sample_index {row['sample_index']!r} of problem {row['problem_id']!r} is not a number")
    bad = (idx < 0) | (idx != idx.round())
    if bad.any():
        row = samples[bad].iloc[0]
        raise ContractError(f"{what}: sample_index {row['sample_index']!r} of problem {row['problem_id']!r} is not a "
                            "whole number >= 0")
    dup = pd.DataFrame({"p": samples["problem_id"].astype(str).values, "i": idx.values}).duplicated()
    if dup.any():
        row = samples[dup.values].iloc[0]
        raise ContractError(f"{what}: sample {row['problem_id']}/{row['sample_index']} appears more than once")


def identity_seed(*parts) -> int:
    """Seed derived only from an identity (its parts joined by "/"): first 8 bytes of blake2b, as a
    non-negative int63."""
    key = "/".join(map(str, parts)).encode()
    return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big") >> 1


def sample_seed(model: str, dataset: str, problem_id: str, sample_index: int) -> int:
    """Seed of one repeated sample, from (model, dataset, problem_id, sample_index) only."""
    return identity_seed(model, dataset, problem_id, sample_index)


def shard_indices(shard: int, samples_per_shard: int) -> range:
    """Sample indices of shard s: [s·S, (s+1)·S). K is a multiple of S, so raising K only appends shards."""
    return range(shard * samples_per_shard, (shard + 1) * samples_per_shard)
