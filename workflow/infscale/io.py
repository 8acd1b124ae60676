"""Parquet I/O shared by every stage: atomic writes, JSON metadata, zstd compression.

A killed job must leave nothing that a later step counts, so every output is
written to a temporary file in the same directory and renamed into place only when complete.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

META_KEY = b"infscale"


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` only if the block finishes."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix + ".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_parquet(df: pd.DataFrame, path: str | os.PathLike, metadata: dict[str, Any] | None = None) -> None:
    """Write `df` atomically with zstd; `metadata` is stored as JSON under the key b'infscale'."""
    table = pa.Table.from_pandas(df, preserve_index=False)
    if metadata is not None:
        meta = dict(table.schema.metadata or {})
        meta[META_KEY] = json.dumps(metadata, sort_keys=True, default=str).encode()
        table = table.replace_schema_metadata(meta)
    with atomic_path(path, ".parquet") as tmp:
        pq.write_table(table, tmp, compression="zstd")


def read_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The infscale metadata dict of a parquet file ({} when absent)."""
    meta = pq.read_schema(path).metadata or {}
    raw = meta.get(META_KEY)
    return json.loads(raw) if raw else {}


def read_parquet(path: str | os.PathLike, columns: list[str] | None = None) -> pd.DataFrame:
    """Read a parquet file; a 0-byte, truncated or otherwise unreadable one is one ContractError line."""
    from .contracts import ContractError

    try:
        return pd.read_parquet(path, columns=columns)
    except FileNotFoundError:
        raise
    except (pa.ArrowException, OSError, ValueError) as e:
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ContractError(f"{path}: not a readable parquet file ({msg})") from None


MERGED_NEEDED = ["problem_id", "sample_index", "correct"]


def read_merged(path: str | os.PathLike, needed: list[str] = MERGED_NEEDED) -> pd.DataFrame:
    """A merged table (contracts.MERGED_COLUMNS) that an analysis stage reads: `needed` present, at least one row."""
    from .contracts import require_columns

    df = read_parquet(path)
    require_columns(df, needed, f"merged table {path}")
    if df.empty:
        raise ValueError(f"merged table {path} has no rows")
    return df


def write_csv(df: pd.DataFrame, path: str | os.PathLike) -> None:
    with atomic_path(path, ".csv") as tmp:
        df.to_csv(tmp, index=False)


def write_png(fig, path: str | os.PathLike, dpi: int = 110) -> None:
    """Lay out a matplotlib figure, write it atomically as PNG and close it."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    with atomic_path(path, ".png") as tmp:
        fig.savefig(tmp, format="png", dpi=dpi)
    plt.close(fig)


def write_text(text: str, path: str | os.PathLike) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_json(obj: Any, path: str | os.PathLike) -> None:
    write_text(json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n", path)
