"""Data stage: load a dataset (local jsonl/parquet or the Hub through `datasets`) into the problems contract.

Writes results/problems/{dataset}.parquet with problem_id, question, domain, reference and metadata columns, and
(when the dataset has a few-shot spec) a `fewshot` column: the JSON list of few-shot examples drawn for that
problem. Examples are drawn per problem and deterministically, the paper's way (Brown et al. 2024, App. A:
GSM8K uses 5 random train examples per problem; MATH a fixed 4-example Minerva-style prompt).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd

from . import io
from .config import with_defaults
from .contracts import DOMAINS

log = logging.getLogger(__name__)


class DatasetError(ValueError):
    """A dataset that cannot be loaded or lacks a field; the message is one line."""


def load_source(source: dict, base_dir: str | Path = ".") -> pd.DataFrame:
    """A source is {path: local file} or {hub: id, config, split, revision}; both go through `datasets`."""
    import datasets

    datasets.disable_progress_bars()
    if "path" in source:
        path = Path(base_dir) / source["path"]
        if not path.exists():
            raise DatasetError(f"dataset file not found: {path}")
        name = path.name
        kind = "parquet" if name.endswith(".parquet") else "json"
        check_local_file(path, kind)
        try:
            ds = datasets.load_dataset(kind, data_files=str(path), split="train")
        except Exception as e:  # noqa: BLE001 - turned into one line
            raise DatasetError(f"cannot load dataset file {path}: {type(e).__name__}: {e}".splitlines()[0]) from e
    else:
        try:
            ds = datasets.load_dataset(source["hub"], source.get("config"), split=source["split"],
                                       revision=source.get("revision"))
        except Exception as e:  # noqa: BLE001 - turned into one line
            raise DatasetError(f"cannot load Hub dataset {source['hub']!r}: {type(e).__name__}: {e}".splitlines()[0]) from e
    df = ds.to_pandas()
    if len(df) == 0:
        raise DatasetError(f"dataset {source.get('path') or source.get('hub')!r} has no rows")
    return df


def check_local_file(path: Path, kind: str) -> None:
    """A local dataset file that `datasets` would reject with a traceback (or read as nothing) stops here with one
    line: an empty file, a JSON Lines line that does not parse (named by its number), a 0-byte or truncated
    parquet file."""
    if path.stat().st_size == 0:
        raise DatasetError(f"dataset file {path} is empty")
    if kind == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            pq.ParquetFile(path).metadata
        except (pa.ArrowException, OSError) as e:
            raise DatasetError(f"dataset file {path} is not a readable parquet file ({str(e).splitlines()[0]})") from None
        return
    with open(path, "rb") as f:
        head = f.read(1 << 16).lstrip()
    if not head:
        raise DatasetError(f"dataset file {path} is empty")
    if head[:1] == b"[":  # one JSON document (a list of records), not JSON Lines
        try:
            json.loads(path.read_bytes())
        except ValueError as e:
            raise DatasetError(f"dataset file {path} is not valid JSON ({e})") from None
        return
    with open(path, "rb") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except ValueError as e:
                raise DatasetError(f"dataset file {path}: line {n} is not valid JSON ({e})") from None
            if not isinstance(rec, dict):
                raise DatasetError(f"dataset file {path}: line {n} is a JSON {type(rec).__name__}, not an object")


def check_code_references(name: str, problems: pd.DataFrame) -> None:
    """Reference tests of code problems hold strings only (a number or null in a test's input or output would
    reach the program as something else); the first problem that breaks this stops the stage, named."""
    from .verify.code import check_reference

    for pid, domain, ref in zip(problems["problem_id"], problems["domain"], problems["reference"]):
        try:
            check_reference(domain, json.loads(ref))
        except (ValueError, TypeError, KeyError) as e:
            raise DatasetError(f"dataset {name!r}: problem {pid}: {e}") from None


_BOX = re.compile(r"\\(?:boxed|fbox|framebox)\b\s*")


def last_boxed(text: str) -> str | None:
    """Content of the last \\boxed{...}, \\fbox{...} or \\framebox{...} in `text`, braces balanced (nested
    braces kept); `\\boxed 5` without braces gives the token after it."""
    found = list(_BOX.finditer(text))
    if not found:
        return None
    i = found[-1].end()
    if i >= len(text) or text[i] != "{":
        m = re.match(r"[^\s${}]+", text[i:])
        return m.group(0).rstrip(".") if m else None
    depth, start = 0, i + 1
    for j in range(i, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return text[start:j].strip()
    return None


def reference_answer(value: str, fmt: str) -> str:
    if fmt == "gsm8k":
        if "####" not in value:
            raise DatasetError(f"reference has no '####' answer: {value[:60]!r}")
        return value.split("####")[-1].strip().replace(",", "")
    if fmt == "boxed":
        boxed = last_boxed(value)
        if boxed is None:
            raise DatasetError(f"reference has no \\boxed answer: {value[:60]!r}")
        return boxed
    return str(value).strip()


def _require(df: pd.DataFrame, column: str, dataset: str, role: str) -> None:
    if column not in df.columns:
        raise DatasetError(
            f"dataset {dataset!r}: field '{role}' maps to column {column!r}, which the source lacks "
            f"(has: {', '.join(map(str, df.columns))})")


def _stable_rng(*parts) -> np.random.Generator:
    digest = hashlib.blake2b("/".join(map(str, parts)).encode(), digest_size=8).digest()
    return np.random.default_rng(int.from_bytes(digest, "big"))


def _to_reference(row: pd.Series, ref_field, fmt: str) -> str:
    if isinstance(ref_field, list):  # several columns -> one JSON object (tests, entry points, ...)
        return json.dumps({c: _jsonable(row[c]) for c in ref_field}, sort_keys=True)
    return reference_answer(row[ref_field], fmt)


def _jsonable(v):
    """Plain JSON types from what `datasets`/pandas hand back for nested columns: a Hub struct column becomes a
    dict and a list column a numpy array, at any depth (deepmind/code_contests: public_tests = {input: [...],
    output: [...]}, time_limit = {seconds, nanos}; https://huggingface.co/datasets/deepmind/code_contests)."""
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (np.ndarray, list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.generic):
        return v.item()
    return v


def build_problems(name: str, spec: dict, base_dir: str | Path = ".") -> pd.DataFrame:
    """The problems table for dataset `name` from its config entry `spec` (the schema's defaults filled in)."""
    spec = with_defaults(spec, "datasets", name)
    if spec.get("domain") not in DOMAINS:
        raise DatasetError(f"dataset {name!r}: domain {spec.get('domain')!r} not one of {', '.join(DOMAINS)}")
    raw = load_source(spec["source"], base_dir)
    fields = spec["fields"]
    for col, want in (spec.get("filter") or {}).items():
        _require(raw, col, name, f"filter.{col}")
        if isinstance(want, dict) and "regex" in want:
            raw = raw[raw[col].astype(str).str.match(want["regex"])]
        else:
            raw = raw[raw[col] == want]
    if spec.get("filter") and raw.empty:
        raise DatasetError(f"dataset {name!r}: filter {spec['filter']!r} selects no problems of the source")
    pid_col = fields["problem_id"]
    if pid_col is None:
        ids = raw.index.astype(str)
    else:
        _require(raw, pid_col, name, "problem_id")
        ids = raw[pid_col].astype(str)
    raw = raw.assign(_pid=list(ids))
    if raw["_pid"].duplicated().any():
        dup = raw.loc[raw["_pid"].duplicated(), "_pid"].iloc[0]
        raise DatasetError(f"dataset {name!r}: problem_id {dup!r} is not unique")
    _require(raw, fields["question"], name, "question")
    refs = fields["reference"] if isinstance(fields["reference"], list) else [fields["reference"]]
    for r in refs:
        _require(raw, r, name, "reference")
    subset = spec.get("subset")
    if subset and subset.get("n") and subset["n"] < len(raw):
        rng = np.random.default_rng(subset["seed"])
        raw = raw.iloc[np.sort(rng.choice(len(raw), size=subset["n"], replace=False))]
    fmt = spec["reference_format"]
    out = pd.DataFrame({
        "problem_id": raw["_pid"].to_numpy(),
        "question": raw[fields["question"]].astype(str).to_numpy(),
        "domain": spec["domain"],
        "reference": [_to_reference(row, fields["reference"], fmt) for _, row in raw.iterrows()],
    })
    for m in fields["metadata"]:
        _require(raw, m, name, "metadata")
        out[m] = [_jsonable(v) for v in raw[m].to_numpy()]
    if spec["domain"] in ("code_stdio", "code_function"):
        check_code_references(name, out)
    prompt = spec["prompt"]
    if prompt.get("fewshot"):
        out["fewshot"] = draw_fewshot(name, out["problem_id"].tolist(), prompt["fewshot"], spec, base_dir)
    return out


def draw_fewshot(name: str, problem_ids: list[str], fs: dict, spec: dict, base_dir) -> list[str]:
    """Per problem, a JSON list of {question, answer} few-shot examples from the train split (`fs` and `spec`
    with the schema's defaults, as build_problems passes them)."""
    pool = load_source(fs["source"], base_dir)
    fields = spec["fields"]
    # question_field and id_field default to the dataset's own fields: the one default the schema can't state
    q, a = fs.get("question_field", fields["question"]), fs["answer_field"]
    _require(pool, q, name, "prompt.fewshot question")
    _require(pool, a, name, "prompt.fewshot answer")
    n = int(fs["n"])
    if fs["mode"] == "fixed":
        # the column the `ids` name (prompt.fewshot.id_field); default the dataset's problem_id field, null = row
        id_col = fs.get("id_field", fields["problem_id"])
        if id_col is not None:
            _require(pool, id_col, name, "prompt.fewshot id_field")
        keys = pool[id_col].astype(str) if id_col else pool.index.astype(str)
        lookup = dict(zip(keys, range(len(pool))))
        ids = [str(i) for i in fs["ids"]]
        missing = [i for i in ids if i not in lookup]
        if missing:
            raise DatasetError(f"dataset {name!r}: few-shot id(s) {missing} not in the few-shot source")
        chosen = [lookup[i] for i in ids][: n or None]
        shots = json.dumps([{"question": pool.iloc[i][q], "answer": pool.iloc[i][a]} for i in chosen])
        return [shots] * len(problem_ids)
    seed = fs["seed"]
    out = []
    for pid in problem_ids:
        idx = _stable_rng(name, seed, pid).choice(len(pool), size=n, replace=False)
        out.append(json.dumps([{"question": pool.iloc[i][q], "answer": pool.iloc[i][a]} for i in idx]))
    return out


def prepare_problems(name: str, spec: dict, out_path: str, base_dir: str | Path = ".") -> pd.DataFrame:
    df = build_problems(name, spec, base_dir)
    io.write_parquet(df, out_path, {"dataset": name, "spec": spec})
    log.info("dataset %s: %d problems -> %s", name, len(df), out_path)
    return df
