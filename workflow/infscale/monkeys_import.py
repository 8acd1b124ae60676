"""Import a released sample set in the monkey_business layout into the merged contract.

ScalingIntelligence/monkey_business (Brown et al. 2024, arXiv 2407.21787) ships one JSON file per (task, model),
e.g. GSM8K_Llama-3-8B-Instruct.json: a list of per-problem records, each with `samples` (list of completions)
and `is_corrects` (list of booleans, same length), plus `question`, `gt_answer` and `orig_dataset_idx` for the
math tasks (CodeContests records carry a `name`). With it the paper's coverage figures can be recomputed without
a GPU. Token counts are not in the release, so prompt_tokens / completion_tokens are null (FLOPs and cost then
fail with a clear line instead of guessing).
"""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from .contracts import MERGED_COLUMNS, PROBLEM_COLUMNS, SAMPLE_COLUMNS

ID_FIELDS = ("orig_dataset_idx", "name", "problem_id", "id", "theorem_name")


def read_records(path: str | Path) -> list[dict]:
    """Records from a .json (list, or {"data": [...]}) or .jsonl file, optionally gzipped."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        text = f.read()
    stripped = text.lstrip()
    if stripped.startswith("["):
        recs = json.loads(text)
    elif stripped.startswith("{") and "\n{" not in stripped.rstrip():
        obj = json.loads(text)
        recs = obj.get("data", obj.get("rows", [obj])) if isinstance(obj, dict) else obj
    else:
        recs = [json.loads(line) for line in text.splitlines() if line.strip()]
    if not isinstance(recs, list) or not all(isinstance(r, dict) for r in recs):
        raise ValueError(f"{path}: expected a list of per-problem records")
    return recs


_BOXED = re.compile(r"\\boxed\s*\{")
_FINAL = re.compile(r"final answer is\s*\$?([^$\n]+?)\$?(?:\.\s*I hope it is correct|\s*$|\n)", re.I)
_GSM = re.compile(r"####\s*([^\n]+)")


def extract_answer(text: str) -> str | None:
    """The final answer of a math completion: '#### x' (GSM8K), 'The final answer is x' (Minerva), or the last
    \\boxed{...}. None when there is none."""
    if not isinstance(text, str):
        return None
    m = _GSM.search(text)
    if m:
        return m.group(1).strip().rstrip(".").replace(",", "").replace("$", "")
    m = _FINAL.search(text)
    if m:
        return m.group(1).strip().rstrip(".")
    starts = [m.end() for m in _BOXED.finditer(text)]
    if starts:
        i, depth = starts[-1], 1
        for j in range(i, len(text)):
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            if depth == 0:
                return text[i:j].strip()
    return None


def _problem_id(rec: dict, i: int, id_field: str | None) -> str:
    fields = (id_field,) if id_field else ID_FIELDS
    for f in fields:
        if f and f in rec and rec[f] is not None:
            return str(rec[f])
    if id_field:
        raise ValueError(f"record {i} has no id field {id_field!r}")
    return str(i)


def import_records(records: list[dict], model: str, dataset: str, domain: str = "math",
                   samples_per_shard: int = 100, id_field: str | None = None, extract: bool | None = None):
    """(problems, samples, merged) frames in the infscale contracts from monkey_business records."""
    extract = (domain == "math") if extract is None else extract
    prob_rows, pids, idx, texts, corrects = [], [], [], [], []
    seen = set()
    for i, rec in enumerate(records):
        if "samples" not in rec or "is_corrects" not in rec:
            raise ValueError(f"record {i}: needs 'samples' and 'is_corrects' (has {', '.join(sorted(rec))})")
        s, c = rec["samples"], rec["is_corrects"]
        if len(s) != len(c):
            raise ValueError(f"record {i}: {len(s)} samples but {len(c)} is_corrects")
        pid = _problem_id(rec, i, id_field)
        if pid in seen:
            raise ValueError(f"record {i}: duplicate problem id {pid!r}")
        seen.add(pid)
        ref = rec.get("gt_answer", rec.get("answer", ""))
        prob_rows.append({"problem_id": pid, "question": str(rec.get("question", rec.get("description", ""))),
                          "domain": domain, "reference": ref if isinstance(ref, str) else json.dumps(ref)})
        pids += [pid] * len(s)
        idx += list(range(len(s)))
        texts += list(s)
        corrects += [bool(x) for x in c]
    problems = pd.DataFrame(prob_rows, columns=PROBLEM_COLUMNS)
    n = len(pids)
    idx_a = np.asarray(idx, dtype=np.int64)
    na = pd.array([pd.NA] * n, dtype="Int64")
    samples = pd.DataFrame({"problem_id": pids, "sample_index": idx_a, "text": texts, "prompt_tokens": na,
                            "completion_tokens": na, "finish_reason": pd.Series([None] * n, dtype=object),
                            "seed": na})[SAMPLE_COLUMNS]
    correct = np.asarray(corrects, dtype=bool)
    extracted = [extract_answer(t) for t in texts] if extract else [None] * n
    merged = pd.DataFrame({
        "model": model, "dataset": dataset, "problem_id": pids, "sample_index": idx_a,
        "shard": idx_a // samples_per_shard, "prompt_tokens": na, "completion_tokens": na,
        "finish_reason": pd.Series([None] * n, dtype=object), "correct": correct,
        "status": np.where(correct, "correct", "wrong"),
        "extracted": extracted,
        # the release's verdicts come from the paper's own format checkers; "none" where no answer was read
        "extraction": ["none" if e is None else "format" for e in extracted],
        "verifier": "monkey_business",
    })[MERGED_COLUMNS]
    return problems, samples, merged


def import_file(path: str | Path, model: str, dataset: str, **kw):
    return import_records(read_records(path), model, dataset, **kw)
