"""Synthetic but contract-true inputs for the analysis tests: merged tables, problems, sample shards, configs."""
import json
from pathlib import Path

import numpy as np
import pandas as pd

from infscale import io
from infscale.contracts import MERGED_COLUMNS

LLAMA_SMALL = {"model_type": "llama", "hidden_size": 576, "intermediate_size": 1536, "num_hidden_layers": 30,
               "num_attention_heads": 9, "num_key_value_heads": 3, "vocab_size": 49152, "tie_word_embeddings": True}
LLAMA_BIG = dict(LLAMA_SMALL, hidden_size=960, intermediate_size=2560, num_hidden_layers=32, num_attention_heads=15,
                 num_key_value_heads=5)


def merged_frame(model, dataset, n_problems=30, n=64, skill=1.0, seed=0, reward=False):
    rng = np.random.default_rng(seed)
    p = np.clip(rng.beta(0.4, 2.5, n_problems) * skill, 0, 1)
    rows = []
    for i in range(n_problems):
        truth = str(i + 10)
        for s in range(n):
            ok = bool(rng.random() < p[i])
            ans = truth if ok else str(int(rng.integers(0, 4)))
            rows.append({"model": model, "dataset": dataset, "problem_id": f"q{i:03d}", "sample_index": s,
                         "shard": s // 32, "prompt_tokens": 200 + 3 * i, "completion_tokens": int(rng.integers(50, 150)),
                         "finish_reason": "stop", "correct": ok, "status": "correct" if ok else "wrong",
                         "extracted": ans, "extraction": "format", "verifier": "math",
                         **({"reward": float(rng.normal(1.0 if ok else 0.0, 0.7))} if reward else {})})
    df = pd.DataFrame(rows)
    return df[MERGED_COLUMNS + (["reward"] if reward else [])]


def write_workspace(root: Path, models=("small", "big"), dataset="toy", n_problems=30, n=64):
    """results/merged, results/problems, results/samples and model configs under `root`; returns the config."""
    root = Path(root)
    cfgs = {"small": LLAMA_SMALL, "big": LLAMA_BIG}
    skill = {"small": 0.6, "big": 1.4}
    for j, m in enumerate(models):
        df = merged_frame(m, dataset, n_problems, n, skill=skill.get(m, 1.0), seed=j, reward=(j == 0))
        io.write_parquet(df, root / f"results/merged/{m}/{dataset}.parquet")
        for shard, g in df.groupby("shard"):
            s = g[["problem_id", "sample_index", "prompt_tokens", "completion_tokens", "finish_reason"]].copy()
            s["text"] = [f"... so the answer is {a}." for a in g["extracted"]]
            s["seed"] = 0
            io.write_parquet(s, root / f"results/samples/{m}/{dataset}/{shard}.parquet")
        (root / f"configs/{m}").mkdir(parents=True, exist_ok=True)
        (root / f"configs/{m}/config.json").write_text(json.dumps(cfgs.get(m, LLAMA_SMALL)))
    problems = pd.DataFrame({"problem_id": [f"q{i:03d}" for i in range(n_problems)],
                             "question": [f"What is {i} + 10?" for i in range(n_problems)], "domain": "math",
                             "reference": [str(i + 10) for i in range(n_problems)]})
    io.write_parquet(problems, root / f"results/problems/{dataset}.parquet")
    return {
        "defaults": {"samples": n, "samples_per_shard": 32},
        "models": {m: {"source": {"path": f"configs/{m}"}, "family": "tiny",
                       "price": {"input_per_mtok": 0.1 * (j + 1) ** 2, "output_per_mtok": 0.2 * (j + 1) ** 2}}
                   for j, m in enumerate(models)},
        "datasets": {dataset: {"source": {"path": "unused.jsonl"}, "domain": "math"}},
        "analysis": {"bootstrap": {"n": 200}, "selection": {"trials": 20, "ks": [1, 4, 16, 64]}},
    }
