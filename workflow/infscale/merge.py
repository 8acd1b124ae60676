"""Merge stage: join every shard's samples (without text) with its verdicts into one per-sample table.

Every analysis reads only this table (results/merged/{model}/{dataset}.parquet).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from . import io
from .contracts import MERGED_COLUMNS, SAMPLE_COLUMNS, VERDICT_COLUMNS, ContractError, require_columns

log = logging.getLogger(__name__)

KEY = ["problem_id", "sample_index"]


def merge_frames(model: str, dataset: str, pairs: list[tuple[int, pd.DataFrame, pd.DataFrame]]) -> pd.DataFrame:
    parts = []
    for shard, samples, verdicts in pairs:
        require_columns(samples, SAMPLE_COLUMNS, f"samples shard {shard}")
        require_columns(verdicts, VERDICT_COLUMNS, f"verdicts shard {shard}")
        s = samples.drop(columns=["text"])
        v = verdicts.drop(columns=["isolation"]).rename(columns={"elapsed_ms": "verify_ms"})
        if _aligned(s, v):  # same samples in the same order (the verifier keeps it; so does a release import)
            parts.append(pd.concat([s.reset_index(drop=True), v.drop(columns=KEY).reset_index(drop=True)],
                                   axis=1).assign(shard=shard))
            continue
        joined = s.merge(v, on=KEY, how="outer", indicator=True, validate="one_to_one")
        if (joined["_merge"] != "both").any():
            bad = joined[joined["_merge"] != "both"].iloc[0]
            raise ContractError(f"shard {shard}: sample {bad['problem_id']}/{bad['sample_index']} has no "
                                f"{'verdict' if bad['_merge'] == 'left_only' else 'sample'}")
        parts.append(joined.drop(columns="_merge").assign(shard=shard))
    merged = pd.concat(parts, ignore_index=True).assign(model=model, dataset=dataset)
    if merged.duplicated(KEY).any():
        raise ContractError(f"{model}/{dataset}: a sample index appears in two shards")
    extra = [c for c in merged.columns if c not in MERGED_COLUMNS]
    return merged[MERGED_COLUMNS + extra].sort_values(KEY, ignore_index=True)


def _aligned(s: pd.DataFrame, v: pd.DataFrame) -> bool:
    """Both tables list the same, unique (problem_id, sample_index) keys in the same order: the join is a column
    concatenation (duplicates are still caught across shards below)."""
    return (len(s) == len(v) and np.array_equal(s["sample_index"].to_numpy(), v["sample_index"].to_numpy())
            and np.array_equal(s["problem_id"].to_numpy(), v["problem_id"].to_numpy())
            and not s.duplicated(KEY).any())


def merge_shards(model: str, dataset: str, sample_paths: list[str], verdict_paths: list[str], out_path: str) -> pd.DataFrame:
    pairs = []
    for sp, vp in zip(sorted(sample_paths, key=_shard), sorted(verdict_paths, key=_shard)):
        if _shard(sp) != _shard(vp):
            raise ContractError(f"samples {sp} and verdicts {vp} are different shards")
        pairs.append((_shard(sp), io.read_parquet(sp), io.read_parquet(vp)))
    merged = merge_frames(model, dataset, pairs)
    io.write_parquet(merged, out_path, {"model": model, "dataset": dataset, "shards": [p[0] for p in pairs],
                                        "samples_meta": io.read_metadata(sample_paths[0]) if sample_paths else {}})
    log.info("merged %s/%s: %d samples from %d shards", model, dataset, len(merged), len(pairs))
    return merged


def _shard(path: str) -> int:
    return int(Path(path).stem)
