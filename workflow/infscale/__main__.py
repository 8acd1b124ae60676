"""Run one stage by hand, outside Snakemake, with the same per-entry config lookups as the rules:

    python -m infscale generate --config config/demo.yaml --model smollm2-135m \\
        --dataset gsm8k --shard 0
    python -m infscale verify   --config C --model M --dataset D --shard S
    python -m infscale problems --config C --dataset D
    python -m infscale model    --config C --model M
    python -m infscale merge    --config C --model M --dataset D
    python -m infscale score    --config C --model M --dataset D   (with score.verifiers in the config)
    python -m infscale import-release --config config/release.yaml --model M --dataset D

Paths default to the workflow's (results/...), so a failed shard can be rerun and debugged in place.
"""

from __future__ import annotations

import argparse

from . import config as C
from . import layout as L
from .cli import run_logged


def _paths(a) -> dict:
    w = {"model": a.model, "dataset": a.dataset, "shard": a.shard}
    return {k: t.format(**w) for k, t in (("problems", L.PROBLEMS), ("samples", L.SAMPLES),
                                          ("verdicts", L.VERDICTS), ("merged", L.MERGED))}


def _stage(a) -> None:
    cfg = C.load(a.config)
    for kind, name in (("models", a.model), ("datasets", a.dataset)):
        if name is not None and name not in cfg[kind]:
            raise C.ConfigError(f"unknown {kind[:-1]} {name!r} in {a.config}; known: {', '.join(cfg[kind])}")
    p = _paths(a)
    if a.stage == "problems":
        from .problems import prepare_problems
        prepare_problems(a.dataset, C.problems_spec(cfg, a.dataset), a.out or p["problems"])
    elif a.stage == "model":
        from .model import convert_gguf
        src = cfg["models"][a.model]["source"]
        if "gguf" not in src:
            raise C.ConfigError(f"model {a.model!r} is not a GGUF model; nothing to convert")
        convert_gguf(src["gguf"], a.out or C.checkpoint_dir(cfg, a.model), src.get("sha256"))
    elif a.stage == "generate":
        from .generate import run
        run(p["problems"], a.out or p["samples"], shard=a.shard, checkpoint_dir=C.checkpoint_dir(cfg, a.model),
            **C.generate_job(cfg, a.model, a.dataset))
    elif a.stage == "verify":
        from .verify import verify_shard
        verify_shard(p["problems"], p["samples"], a.out or p["verdicts"], C.verify_options(cfg, a.dataset), a.threads)
    elif a.stage == "import-release":
        from .release import import_job, import_release
        shards = C.shards(cfg, a.dataset)
        import_release(import_job(cfg, a.model, a.dataset), p["problems"],
                       L.shard_paths(L.SAMPLES, vars(a), shards), L.shard_paths(L.VERDICTS, vars(a), shards),
                       a.out or p["merged"])
    elif a.stage == "score":
        from .score import job, score, verifiers
        if not verifiers(cfg):
            raise C.ConfigError(f"{a.config} has no score.verifiers; nothing to score")
        score(p["problems"], L.shard_paths(L.SAMPLES, vars(a), C.shards(cfg, a.dataset)), p["merged"],
              a.out or L.SCORED.format(model=a.model, dataset=a.dataset), job(cfg, a.model, a.dataset),
              C.checkpoint_dir(cfg, a.model))
    elif a.stage == "merge":
        from .merge import merge_shards
        shards = C.shards(cfg, a.dataset)
        merge_shards(a.model, a.dataset,
                     L.shard_paths(L.SAMPLES, vars(a), shards), L.shard_paths(L.VERDICTS, vars(a), shards),
                     a.out or p["merged"])


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m infscale", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("stage", choices=["problems", "model", "generate", "verify", "merge", "score", "import-release"])
    ap.add_argument("--config", default="config/config.yaml")
    ap.add_argument("--model")
    ap.add_argument("--dataset")
    ap.add_argument("--shard", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", help="output path (default: the workflow's)")
    ap.add_argument("--log", help="also log to this file")
    a = ap.parse_args(argv)
    run_logged(a.log, _stage, a)


if __name__ == "__main__":
    main()
