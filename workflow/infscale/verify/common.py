"""Helpers shared by the sandboxed verifiers: reference parsing, program extraction, dedup + parallel runs,
and building the verdict frame (contracts.VERDICT_COLUMNS)."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Hashable

import pandas as pd

from ..contracts import EXTRACTIONS, VERDICT_COLUMNS, VERDICT_STATUSES

log = logging.getLogger(__name__)

# First fenced block: ```lang ...\n body ``` ; an unclosed fence (generation cut at max tokens) runs to the end.
# Found with str.find, not one regex: `([A-Za-z0-9_+.#-]*)[^\n]*\n` backtracks quadratically on a long line
# without a newline (30k characters took 0.95 s); this is linear.
_LANG = re.compile(r"[ \t]*([A-Za-z0-9_+.#-]*)")


def first_fenced_block(text: str) -> tuple[str, str] | None:
    """(language, body) of the first fenced code block, or None."""
    text = text or ""
    start = text.find("```")
    if start < 0:
        return None
    nl = text.find("\n", start + 3)
    if nl < 0:
        return None  # no line ends after the first fence, so no fence opens a block
    lang = _LANG.match(text, start + 3, nl).group(1).lower()
    end = text.find("```", nl + 1)
    return lang, text[nl + 1:] if end < 0 else text[nl + 1:end]


def parse_reference(reference: str, problem_id: str) -> dict:
    try:
        ref = json.loads(reference)
    except (TypeError, ValueError) as e:
        raise ValueError(f"problem {problem_id}: reference is not a JSON object string ({e})") from None
    if not isinstance(ref, dict):
        raise ValueError(f"problem {problem_id}: reference must be a JSON object, got {type(ref).__name__}")
    return ref


def program_hash(program: str) -> str:
    return "blake2b:" + hashlib.blake2b(program.encode(), digest_size=8).hexdigest()


def run_distinct(jobs: dict[Hashable, Callable[[], Any]], threads: int) -> dict[Hashable, Any]:
    """Run each distinct job once, up to `threads` at a time; a job that raises gets the exception as result."""
    def guarded(fn):
        try:
            return fn()
        except Exception as e:  # a sample that crashes a verifier gets a status, never loses the shard
            log.warning("verifier job failed: %s: %s", type(e).__name__, e)
            return e
    if threads <= 1 or len(jobs) <= 1:
        return {k: guarded(fn) for k, fn in jobs.items()}
    with ThreadPoolExecutor(max_workers=threads) as pool:
        futures = {k: pool.submit(guarded, fn) for k, fn in jobs.items()}
        return {k: f.result() for k, f in futures.items()}


def verdict_row(status: str, extracted: str | None, verifier: str, elapsed_ms: float, isolation: str | None,
                detail: str = "", extraction: str | None = None) -> dict:
    """One verdict. `extraction` defaults to "format" when something was extracted (a fenced block, a patch, a
    proof: these verifiers have no lenient fallback), else "none"."""
    if status not in VERDICT_STATUSES:
        raise ValueError(f"unknown verdict status {status!r}")
    if extraction is None:
        extraction = "none" if extracted is None else "format"
    if extraction not in EXTRACTIONS:
        raise ValueError(f"unknown extraction {extraction!r}")
    return {"correct": status == "correct", "status": status, "extracted": extracted, "extraction": extraction,
            "verifier": verifier, "elapsed_ms": float(elapsed_ms), "isolation": isolation, "detail": detail[:500]}


def verdict_frame(samples: pd.DataFrame, rows: list[dict]) -> pd.DataFrame:
    out = pd.DataFrame(rows, index=samples.index)
    out.insert(0, "problem_id", samples["problem_id"].astype(str).values)
    out.insert(1, "sample_index", samples["sample_index"].astype("int64").values)
    out["correct"] = out["correct"].astype(bool)
    out["elapsed_ms"] = out["elapsed_ms"].astype("float64")
    for col in ("extracted", "extraction", "isolation", "detail", "status", "verifier"):
        out[col] = out[col].astype("string")  # nullable strings: an all-null shard still writes a string column
    return out[VERDICT_COLUMNS + ["detail"]].reset_index(drop=True)
