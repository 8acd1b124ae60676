import pandas as pd
import pytest

from infscale import io
from infscale.contracts import MERGED_COLUMNS, ContractError
from infscale.merge import merge_shards


def _shard(tmp_path, shard, rows, verdict_rows=None):
    s = pd.DataFrame({"problem_id": [r[0] for r in rows], "sample_index": [r[1] for r in rows],
                      "text": ["secret text"] * len(rows), "prompt_tokens": 10, "completion_tokens": 5,
                      "finish_reason": "stop", "seed": 1})
    vr = rows if verdict_rows is None else verdict_rows
    v = pd.DataFrame({"problem_id": [r[0] for r in vr], "sample_index": [r[1] for r in vr],
                      "correct": [r[1] % 2 == 0 for r in vr], "status": "wrong", "extracted": "1",
                      "extraction": "format", "verifier": "math-verify", "elapsed_ms": 1.0, "isolation": "none"})
    sp, vp = tmp_path / "s" / f"{shard}.parquet", tmp_path / "v" / f"{shard}.parquet"
    io.write_parquet(s, sp, {"engine": {"engine": "vllm"}})
    io.write_parquet(v, vp)
    return str(sp), str(vp)


def test_merge_joins_shards_without_text(tmp_path):
    a = _shard(tmp_path, 0, [("p1", 0), ("p1", 1), ("p2", 0), ("p2", 1)])
    b = _shard(tmp_path, 1, [("p1", 2), ("p1", 3), ("p2", 2), ("p2", 3)])
    out = tmp_path / "m.parquet"
    merged = merge_shards("m", "d", [b[0], a[0]], [b[1], a[1]], str(out))
    assert list(merged.columns[: len(MERGED_COLUMNS)]) == MERGED_COLUMNS
    assert "text" not in merged.columns
    assert len(merged) == 8 and merged["shard"].tolist() == [0, 0, 1, 1, 0, 0, 1, 1]
    assert merged["correct"].sum() == 4
    pd.testing.assert_frame_equal(io.read_parquet(out), merged)


def test_missing_verdict_is_an_error_and_writes_nothing(tmp_path):
    a = _shard(tmp_path, 0, [("p1", 0), ("p1", 1)], verdict_rows=[("p1", 0)])
    out = tmp_path / "m.parquet"
    with pytest.raises(ContractError, match="p1/1 has no verdict"):
        merge_shards("m", "d", [a[0]], [a[1]], str(out))
    assert not out.exists()


def test_mismatched_shards_rejected(tmp_path):
    a = _shard(tmp_path, 0, [("p1", 0)])
    b = _shard(tmp_path, 1, [("p1", 1)])
    with pytest.raises(ContractError, match="different shards"):
        merge_shards("m", "d", [a[0]], [b[1]], str(tmp_path / "m.parquet"))
