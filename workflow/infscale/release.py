"""Released samples: import a published sample set into the samples, verdicts and merged contracts.

Layout (Brown et al. 2024, arXiv 2407.21787; Hugging Face dataset ScalingIntelligence/monkey_business, one
subset per <Task>_<Model>, split `test`, as its dataset card and public loaders read it): one row per problem with
  samples       list of completions (10⁴ in the paper),
  is_corrects   list of booleans, same length,
  orig_dset_idx the problem's index in the original dataset split,
plus task fields (math: question, gt_answer). It is read through `datasets`: a Hub name + subset + split (the
local cache is used when HF_DATASETS_OFFLINE=1), or a local copy: a save_to_disk directory, parquet files, or the
JSON / JSON-lines export (rows, not columns).

problem_id = str(orig_dset_idx) and sample_index = the sample's position in its list. infscale's own problem ids
for a dataset whose `fields.problem_id` is null are the row index of the split (problems.build_problems; filters
keep the original index), so the two join when the dataset entry reads the same split with problem_id: null
(config/release.yaml does so for every released task). The import checks that every released id is in the
problems table and stops otherwise.

Token counts are taken from the sample text and the rendered prompt with the tokenizer the model's entry names
(source.tokenizer, else source.hf / source.path), loaded offline. Without one they stay null and
tokens_reason() says why, so FLOPs and cost are not scheduled for that pair; tokens are never guessed.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from . import io
from .config import with_defaults
from .contracts import SAMPLE_COLUMNS, VERDICT_COLUMNS
from .merge import merge_frames
from .problems import DatasetError

log = logging.getLogger(__name__)

REQUIRED = ("samples", "is_corrects", "orig_dset_idx")
VERIFIER = "release"  # the verdict's `verifier`: the release's own is_corrects
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json")


class ReleaseError(DatasetError):
    """A release that cannot be read or is not in the release layout; the message is one line."""


# ---- config lookups --------------------------------------------------------------------------------------------

def release_spec(config: dict, model: str, dataset: str) -> dict | None:
    return (config["models"][model].get("releases") or {}).get(dataset)


def release_pairs(config: dict) -> list[tuple[str, str]]:
    """(model, dataset) pairs whose samples come from a release instead of generate/verify/merge."""
    return [(m, d) for m, entry in config["models"].items() for d in (entry.get("releases") or {})]


def tokenizer_name(config: dict, model: str) -> str | None:
    src = config["models"][model]["source"]
    return src.get("tokenizer") or src.get("hf") or src.get("path")


def tokens_reason(config: dict, model: str, dataset: str) -> str | None:
    """None when `model`'s samples on `dataset` have token counts; else the one line why they do not (then its
    FLOPs and cost jobs are not scheduled). Generated samples always carry counts."""
    if release_spec(config, model, dataset) is None:
        return None
    name = tokenizer_name(config, model)
    if not name:
        return f"{model}: no token counts for its released samples: its source names no tokenizer (source.tokenizer)"
    path = Path(name)
    if path.is_dir():
        if any((path / f).exists() for f in TOKENIZER_FILES):
            return None
        return f"{model}: no token counts for its released samples: {name} holds no {' or '.join(TOKENIZER_FILES)}"
    if _hub_cached(name, config["models"][model]["source"].get("revision")):
        return None
    return (f"{model}: no token counts for its released samples: tokenizer {name} is not in the local Hugging Face "
            f"cache (huggingface-cli download {name} {' '.join(TOKENIZER_FILES)})")


def _hub_cached(repo: str, revision: str | None = None) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # pragma: no cover
        return False
    for f in TOKENIZER_FILES:
        try:
            hit = try_to_load_from_cache(repo, f, revision=revision)
        except Exception:  # noqa: BLE001 - an invalid repo id is just "not cached"
            return False
        if isinstance(hit, str):
            return True
    return False


def check_releases(config: dict) -> None:
    """Cross-field rules of models.<m>.releases (ConfigError, one line): each names one of the model's datasets,
    and every released dataset has the same shard layout (import_release's outputs are one fixed shard list)."""
    from . import config as C

    layouts = {}
    for m, d in release_pairs(config):
        if d not in C.model_datasets(config, m):
            raise C.ConfigError(f"config key 'models.{m}.releases.{d}': {d!r} is not one of the model's datasets "
                                f"({', '.join(C.model_datasets(config, m))})")
        layouts.setdefault((C.samples(config, d), C.samples_per_shard(config, d)), d)
    if len(layouts) > 1:
        (k1, s1), (k2, s2) = list(layouts)[:2]
        raise C.ConfigError(f"released datasets {layouts[(k1, s1)]!r} and {layouts[(k2, s2)]!r} have different "
                            f"samples/samples_per_shard ({k1}/{s1} vs {k2}/{s2}); import_release needs one layout")


def release_shards(config: dict) -> list[int]:
    """The shard list every released dataset shares ([0] when there is no release, so the rule stays valid)."""
    from . import config as C

    pairs = release_pairs(config)
    return C.shards(config, pairs[0][1]) if pairs else [0]


def import_job(config: dict, model: str, dataset: str) -> dict:
    """Everything import_release needs, from this model's and this dataset's entries only."""
    from . import config as C

    spec = release_spec(config, model, dataset)
    if spec is None:
        raise C.ConfigError(f"model {model!r} has no release for dataset {dataset!r} (models.{model}.releases)")
    reason = tokens_reason(config, model, dataset)
    return {
        "model": model, "dataset": dataset, "release": {k: v for k, v in spec.items() if k != "reverify"},
        "samples": C.samples(config, dataset), "samples_per_shard": C.samples_per_shard(config, dataset),
        "tokenizer": None if reason else tokenizer_name(config, model),
        "prompt_cfg": config["datasets"][dataset]["prompt"],
        "chat": bool(config["models"][model]["chat"]),
    }


def reverify_pairs(config: dict) -> list[tuple[str, str]]:
    return [(m, d) for m, d in release_pairs(config) if release_spec(config, m, d)["reverify"]]


# ---- reading ---------------------------------------------------------------------------------------------------

def load_release(spec: dict, base_dir: str | Path = ".") -> pa.Table:
    """The release as an Arrow table (one row per problem), through `datasets`; `spec` is a models.<m>.releases.<d>
    entry (one built by hand gets the schema's defaults: split test)."""
    import datasets

    spec = with_defaults(spec, "models", "*", "releases", "*")

    datasets.disable_progress_bars()
    if "path" in spec:
        path = Path(base_dir) / spec["path"]
        if not path.exists():
            raise ReleaseError(f"release not found: {path}")
        try:
            ds = _load_local(datasets, path, spec["split"])
        except ReleaseError:
            raise
        except Exception as e:  # noqa: BLE001 - one line
            raise ReleaseError(f"cannot read release {path}: {type(e).__name__}: {_first_line(e)}") from e
    else:
        try:
            ds = datasets.load_dataset(spec["hub"], spec.get("subset"), split=spec["split"])
        except Exception as e:  # noqa: BLE001 - one line
            raise ReleaseError(f"cannot load release {spec['hub']} {spec.get('subset')}: {type(e).__name__}: "
                               f"{_first_line(e)}") from e
    return ds.with_format("arrow")[:]


def _first_line(e: Exception) -> str:
    return (str(e).splitlines() or [""])[0]


def _load_local(datasets, path: Path, split: str):
    if path.is_dir() and ((path / "dataset_info.json").exists() or (path / "dataset_dict.json").exists()):
        ds = datasets.load_from_disk(str(path))
        if isinstance(ds, datasets.DatasetDict):
            if split not in ds:
                raise ReleaseError(f"release {path} has no split {split!r} (has {', '.join(ds)})")
            ds = ds[split]
        return ds
    files = sorted(p for p in path.iterdir() if not p.name.startswith(".")) if path.is_dir() else [path]
    kinds = {_kind(p) for p in files} - {None}
    if len(kinds) != 1:
        raise ReleaseError(f"release {path}: expected a save_to_disk directory or parquet / JSON / JSON-lines files")
    kind = kinds.pop()
    files = [str(p) for p in files if _kind(p) == kind]
    if kind == "json":
        for f in files:
            _reject_columns_json(f)
    return datasets.load_dataset(kind, data_files=files, split="train")


def _kind(p: Path) -> str | None:
    name = p.name.removesuffix(".gz")
    if name.endswith(".parquet"):
        return "parquet"
    if name.endswith((".json", ".jsonl")):
        return "json"
    return None


def _reject_columns_json(path: str) -> None:
    """A JSON object of columns ({"samples": [[...], ...], "is_corrects": ...}) is not rows: stop on it."""
    import gzip

    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        head = f.read(1 << 16).lstrip()
    if not head.startswith("{"):
        return  # a JSON list of rows, or nothing
    with opener(path, "rt", encoding="utf-8") as f:
        first = f.readline()
    try:
        obj = json.loads(first)
    except json.JSONDecodeError:
        obj = None  # a pretty-printed object: the whole file is one object
        with opener(path, "rt", encoding="utf-8") as f:
            obj = json.load(f)
        if isinstance(obj, dict) and "samples" not in obj:
            return
    if isinstance(obj, dict) and _columnar(obj):
        raise ReleaseError(f"release {path}: a JSON object of columns, not one row per problem "
                           "(export rows: datasets' to_json, or a list of per-problem objects)")


def _columnar(obj: dict) -> bool:
    s = obj.get("samples")
    return isinstance(s, list) and bool(s) and all(isinstance(x, list) for x in s) \
        or isinstance(obj.get("orig_dset_idx"), list)


# ---- validation and flattening -----------------------------------------------------------------------------------

def check_table(table: pa.Table, where: str) -> None:
    """Stop with one line unless `table` is in the release layout."""
    missing = [c for c in REQUIRED if c not in table.column_names]
    if missing:
        raise ReleaseError(f"{where}: release lacks {', '.join(missing)} (has {', '.join(table.column_names)})")
    for col in ("samples", "is_corrects"):
        t = table.schema.field(col).type
        if not (pa.types.is_list(t) or pa.types.is_large_list(t)):
            raise ReleaseError(f"{where}: {col} must be a list per problem (is {t})")
    if _is_list(table.schema.field("orig_dset_idx").type) or _is_list(table.schema.field("samples").type.value_type):
        raise ReleaseError(f"{where}: columns hold lists of problems (a JSON object of columns?): "
                           "the release is one row per problem")
    ns, nc = (pc.list_value_length(table[c]) for c in ("samples", "is_corrects"))
    bad = pc.not_equal(pc.fill_null(ns, -1), pc.fill_null(nc, -2))
    if pc.any(bad).as_py():
        i = pc.index(bad, True).as_py()
        raise ReleaseError(f"{where}: problem {table['orig_dset_idx'][i].as_py()}: {ns[i].as_py()} samples but "
                           f"{nc[i].as_py()} is_corrects")
    ids = table["orig_dset_idx"]
    if ids.null_count:
        raise ReleaseError(f"{where}: orig_dset_idx is missing for {ids.null_count} problem(s)")
    if pc.count_distinct(ids).as_py() != len(ids):
        counts = pc.value_counts(ids)
        dup = counts.filter(pc.greater(counts.field("counts"), 1))[0]["values"].as_py()
        raise ReleaseError(f"{where}: duplicate orig_dset_idx {dup}")
    flags = pc.list_flatten(table["is_corrects"])
    if flags.null_count:
        raise ReleaseError(f"{where}: is_corrects holds {flags.null_count} null(s)")
    if not pa.types.is_boolean(flags.type):
        raise ReleaseError(f"{where}: is_corrects must hold booleans (holds {flags.type})")


def _is_list(t) -> bool:
    return pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t)


def flatten(table: pa.Table, samples: int, where: str) -> dict:
    """Per-sample columns (vectorised): problem_id, sample_index, correct for the indices < `samples`, problem-major
    in release order; the texts stay in Arrow (`text`, flattened, zero-copy) with each problem's `start` in it."""
    lengths = pc.list_value_length(table["samples"]).to_numpy(zero_copy_only=False)
    short = np.flatnonzero(lengths < samples)
    if len(short):
        i = int(short[0])
        raise ReleaseError(f"{where}: problem {table['orig_dset_idx'][i].as_py()} has {lengths[i]} samples; the config "
                           f"asks for {samples} (datasets.<d>.samples)")
    ids = pc.cast(table["orig_dset_idx"], pa.string()).to_numpy(zero_copy_only=False)
    starts = np.cumsum(lengths) - lengths
    index = np.arange(int(lengths.sum()), dtype=np.int64) - np.repeat(starts, lengths)
    keep = index < samples
    text = pc.list_flatten(table["samples"])
    if not (pa.types.is_string(text.type) or pa.types.is_large_string(text.type)):
        raise ReleaseError(f"{where}: samples must hold strings (holds {text.type})")
    correct = pc.list_flatten(table["is_corrects"]).to_numpy(zero_copy_only=False)
    return {"problem_id": np.repeat(ids, samples), "sample_index": index[keep], "correct": correct[keep],
            "ids": ids, "text": text, "start": starts}


def shard_texts(cols: dict, shard: int, per_shard: int) -> pa.ChunkedArray:
    """Texts of one shard in the row order of flatten() (problem-major): one zero-copy slice per problem."""
    chunks = [c for st in cols["start"] for c in cols["text"].slice(int(st) + shard * per_shard, per_shard).chunks]
    out = pa.chunked_array(chunks, type=cols["text"].type)
    return pc.fill_null(out, "") if out.null_count else out


# ---- tokens ----------------------------------------------------------------------------------------------------

def load_tokenizer(name: str):
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(name, local_files_only=True)
    except Exception as e:  # noqa: BLE001 - one line
        raise ReleaseError(f"cannot load tokenizer {name} offline: {type(e).__name__}: {_first_line(e)}") from e


def count_tokens(texts: pa.ChunkedArray, tokenizer, batch: int = 8192) -> np.ndarray:
    """Tokens of each text (no special tokens), tokenising each distinct text once, in fast-tokenizer batches."""
    uniq = pc.unique(texts)
    where = pc.index_in(texts, value_set=uniq).to_numpy(zero_copy_only=False)
    values = uniq.to_pylist()
    counts = np.empty(len(values), dtype=np.int64)
    for lo in range(0, len(values), batch):
        enc = tokenizer(values[lo:lo + batch], add_special_tokens=False)["input_ids"]
        counts[lo:lo + batch] = [len(x) for x in enc]
    return counts[where]


def prompt_tokens(problems: pd.DataFrame, prompt_cfg: dict, chat: bool, tokenizer) -> dict[str, int]:
    """Tokens of each problem's rendered prompt, as the engine counts it (tokenizer.encode, engines.py)."""
    from .generate import build_prompt

    return {p["problem_id"]: len(tokenizer.encode(build_prompt(p, prompt_cfg, tokenizer, chat)))
            for p in problems.to_dict("records")}


# ---- the import ------------------------------------------------------------------------------------------------

def _nullable(values, n: int) -> pd.arrays.IntegerArray:
    """Int64 column: the counts, or all null."""
    if values is None:
        return pd.arrays.IntegerArray(np.zeros(n, dtype=np.int64), np.ones(n, dtype=bool))
    return pd.arrays.IntegerArray(np.asarray(values, dtype=np.int64), np.zeros(n, dtype=bool))


def verdict_frame(problem_id, sample_index, correct, verifier: str = VERIFIER) -> pd.DataFrame:
    """The verdict contract of imported samples (the one place its rows are built): the release's flags, no
    extracted answer (extraction 'none' where the contract has that column)."""
    n = len(problem_id)
    correct = np.asarray(correct, dtype=bool)
    cols = {"problem_id": problem_id, "sample_index": sample_index, "correct": correct,
            "status": np.where(correct, "correct", "wrong").astype(object), "extracted": np.full(n, None, dtype=object),
            "extraction": "none", "verifier": verifier, "elapsed_ms": np.zeros(n), "isolation": "none"}
    return pd.DataFrame({c: cols.get(c, np.full(n, None, dtype=object)) for c in VERDICT_COLUMNS})


def import_release(job: dict, problems_path: str | None, sample_paths: list[str], verdict_paths: list[str],
                   merged_path: str, base_dir: str | Path = ".") -> pd.DataFrame:
    """Read the release of job (import_job), validate it, write its sample and verdict shards and merged table."""
    t0 = time.perf_counter()
    model, dataset, spec = job["model"], job["dataset"], job["release"]
    where = f"release {model}/{dataset} ({spec.get('path') or spec.get('hub')} {spec.get('subset') or ''})".replace(" )", ")")
    table = load_release(spec, base_dir)
    check_table(table, where)
    K, S = int(job["samples"]), int(job["samples_per_shard"])
    if len(sample_paths) != K // S or len(verdict_paths) != K // S:
        raise ReleaseError(f"{where}: {len(sample_paths)} sample shards given, the config has {K // S}")
    cols = flatten(table, K, where)
    del table
    problems = None
    if problems_path:
        problems = io.read_parquet(problems_path)
        unknown = np.setdiff1d(cols["ids"], problems["problem_id"].astype(str).to_numpy())
        if len(unknown):
            raise ReleaseError(f"{where}: orig_dset_idx {unknown[0]} (and {len(unknown) - 1} more) not among the "
                               f"problem ids of {dataset} (row index of its split: fields.problem_id null)")
    ptok = tok = None
    if job.get("tokenizer"):
        if problems is None:
            raise ReleaseError(f"{where}: token counts need the problems table (rendered prompts)")
        tok = load_tokenizer(job["tokenizer"])
        per_problem = prompt_tokens(problems[problems["problem_id"].isin(cols["ids"])],
                                    job["prompt_cfg"], job["chat"], tok)
        ptok = pd.Series(cols["problem_id"]).map(per_problem).to_numpy(dtype=np.int64)
    shard = cols["sample_index"] // S
    for sp, vp in zip(sample_paths, verdict_paths):
        if not (int(Path(sp).stem) == int(Path(vp).stem) and 0 <= int(Path(sp).stem) < K // S):
            raise ReleaseError(f"{where}: shard paths {sp} / {vp} do not match shards 0..{K // S - 1}")
    # Everything is checked: write shard by shard, so only one shard's texts are Python objects at a time (a real
    # release holds ~1 KB per sample); the merge drops the text anyway.
    meta = {"model": model, "dataset": dataset, "release": spec, "tokenizer": job.get("tokenizer"),
            "samples": K, "samples_per_shard": S}
    pairs = []
    for sp, vp in zip(sample_paths, verdict_paths):
        s = int(Path(sp).stem)
        rows = np.flatnonzero(shard == s)
        pid, idx = cols["problem_id"][rows], cols["sample_index"][rows]
        texts = shard_texts(cols, s, S)
        samples = pd.DataFrame({
            "problem_id": pid, "sample_index": idx, "text": texts.to_pandas(),
            "prompt_tokens": _nullable(None if ptok is None else ptok[rows], len(rows)),
            "completion_tokens": _nullable(None if tok is None else count_tokens(texts, tok), len(rows)),
            "finish_reason": np.full(len(rows), None, dtype=object),
            "seed": _nullable(None, len(rows)),
        })[SAMPLE_COLUMNS]
        verdicts = verdict_frame(pid, idx, cols["correct"][rows])
        io.write_parquet(samples, sp, {**meta, "shard": s})
        io.write_parquet(verdicts, vp, {**meta, "shard": s})
        pairs.append((s, samples.assign(text=""), verdicts))
    merged = merge_frames(model, dataset, pairs)
    io.write_parquet(merged, merged_path, {**meta, "shards": [p[0] for p in pairs]})
    log.info("imported %s/%s: %d problems × %d samples (%d correct) in %.1f s%s", model, dataset,
             len(cols["ids"]), K, int(cols["correct"].sum()), time.perf_counter() - t0,
             "" if ptok is not None else "; no token counts")
    return merged


# ---- re-verification -------------------------------------------------------------------------------------------

def agreement(problems_path: str, sample_paths: list[str], verdict_paths: list[str], options: dict,
              out_path: str, listing_path: str, threads: int = 1) -> pd.DataFrame:
    """Re-verify imported samples with infscale's own verifier (verify.verify_frames, the verify stage's code path)
    and compare with the release's is_corrects: a count table (release × infscale) and the disagreeing samples."""
    from .verify import verify_frames

    problems = io.read_parquet(problems_path)
    parts = []
    for sp, vp in zip(sorted(sample_paths, key=_stem), sorted(verdict_paths, key=_stem)):
        samples = io.read_parquet(sp)
        ours = verify_frames(problems, samples, options, threads)
        rel = io.read_parquet(vp, columns=["problem_id", "sample_index", "correct"])
        j = rel.merge(ours[["problem_id", "sample_index", "correct", "status", "extracted"]],
                      on=["problem_id", "sample_index"], suffixes=("_release", "_infscale"), validate="one_to_one")
        parts.append(j)
    both = pd.concat(parts, ignore_index=True)
    table = (both.groupby(["correct_release", "correct_infscale"]).size().rename("samples").reset_index())
    table["share"] = table["samples"] / max(len(both), 1)
    listing = both[both["correct_release"] != both["correct_infscale"]].sort_values(["problem_id", "sample_index"])
    io.write_csv(table, out_path)
    io.write_csv(listing, listing_path)
    log.info("agreement: %d of %d samples agree; %d disagree", len(both) - len(listing), len(both), len(listing))
    return table


def _stem(p: str) -> int:
    return int(Path(p).stem)
