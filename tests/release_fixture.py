"""Released sample sets in the exact release layout, generated (shared by tests/test_release.py and
bench/bench_release.py).

Layout of ScalingIntelligence/monkey_business (Brown et al. 2024, arXiv 2407.21787; its Hugging Face dataset card
and public loaders): one subset per <Task>_<Model>, split `test`, one row per problem with `samples` (list of
completions), `is_corrects` (list of booleans, same length), `orig_dset_idx` (the problem's index in the original
dataset split) and the task fields (math: `question`, `gt_answer`). Texts here are short or empty: the import,
coverage and fits only read the flags; the tokenizer test reads the texts.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

TEXTS = ["", "#### 3", "The final answer is $7$. I hope it is correct.", "so \\boxed{2}", "no idea"]


def release_table(n_problems: int, n_samples: int, seed: int = 0, ids=None, texts=TEXTS) -> pa.Table:
    """A release subset as an Arrow table: per-problem success rates spread from 0 to ~0.5 (log-uniform), so
    coverage rises with k the way the paper's curves do."""
    rng = np.random.default_rng(seed)
    ids = np.arange(n_problems) if ids is None else np.asarray(ids)
    p = np.where(rng.random(n_problems) < 0.15, 0.0, 10 ** rng.uniform(-4.5, -0.3, n_problems))
    flags = rng.random((n_problems, n_samples)) < p[:, None]
    offsets = pa.array(np.arange(n_problems + 1, dtype=np.int64) * n_samples)
    pick = pa.array(rng.integers(0, len(texts), n_problems * n_samples))
    samples = pa.LargeListArray.from_arrays(offsets, pc.take(pa.array(texts, pa.string()), pick))
    corrects = pa.LargeListArray.from_arrays(offsets, pa.array(flags.ravel()))
    return pa.table({
        "question": [f"What is {int(i)} + 1?" for i in ids],
        "gt_answer": [str(int(i) + 1) for i in ids],
        "orig_dset_idx": pa.array(ids, pa.int64()),
        "samples": samples,
        "is_corrects": corrects,
    })


def write_release(table: pa.Table, path: Path, layout: str) -> Path:
    """Write as `datasets` does: save_to_disk directory, its JSON-lines export (to_json) or parquet export."""
    import datasets

    datasets.disable_progress_bars()
    ds = datasets.Dataset(table)
    path = Path(path)
    if layout == "disk":
        ds.save_to_disk(str(path))
    elif layout == "json":
        ds.to_json(str(path))
    elif layout == "parquet":
        ds.to_parquet(str(path))
    else:
        raise ValueError(layout)
    return path


def write_problems(path: Path, n: int, tests: bool = False) -> Path:
    """The dataset's own problems (JSON lines): problem_id null makes infscale's ids the row index 0..n-1. With
    `tests`, each also has CodeContests' nested `public_tests: {input: [...], output: [...]}`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [{"question": f"What is {i} + 1?", "answer": str(i + 1)} for i in range(n)]
    if tests:
        for i, r in enumerate(rows):
            r["public_tests"] = {"input": [f"{i}\n"], "output": [f"{i + 1}\n"]}
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def write_tokenizer(path: Path) -> Path:
    """A real (tiny, word-level) fast tokenizer saved the transformers way, so AutoTokenizer loads it offline."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    words = sorted({w for t in TEXTS for w in t.split()} | {"What", "is", "+", "1?", "Question:", "Answer:"})
    vocab = {"[UNK]": 0, **{w: i + 1 for i, w in enumerate(words)}}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]").save_pretrained(str(path))
    return Path(path)
