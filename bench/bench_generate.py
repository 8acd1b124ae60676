"""Benchmark: the generate rule's tokens/s against a bare vLLM script on the same prompts, seeds and sampling
params, run one after the other in this script (goal: ratio ≥ 0.95).

Needs the demo's converted model and problems (`make demo` makes them). The rule runs through the real
Snakefile in a scratch copy of the workflow; the bare script is what a researcher would write by hand:
`LLM(...)` then one `generate()` with one seeded SamplingParams per sample. Tokens/s counts completion tokens
over the generation call (engine start-up excluded for both; reported separately as wall time).
Writes results/bench/generate.json and prints one line.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the test fixtures (tests/ is no package)
from infscale import io  # noqa: E402
from infscale import config as C  # noqa: E402
from workflow_helpers import copy_workflow, snakemake, write_config  # noqa: E402

MODEL, DATASET = "smollm2-135m", "gsm8k"
CKPT = ROOT / "results/models/SmolLM2-135M-Instruct.Q4_1"
PROBLEMS = ROOT / f"results/problems/{DATASET}.parquet"

BARE = r'''
import json, sys, time
if __name__ == "__main__":
    import os
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "2"); os.environ.setdefault("VLLM_CPU_NUM_OF_RESERVED_CPU", "0")
    from vllm import LLM, SamplingParams
    job = json.load(open(sys.argv[1]))
    t0 = time.perf_counter()
    llm = LLM(model=job["model"], dtype="float32", enforce_eager=True, max_model_len=4096,
              max_num_batched_tokens=max(32768, job["prompt_tokens"]))
    t1 = time.perf_counter()
    sps = [SamplingParams(seed=s, **job["sampling"]) for s in job["seeds"]]
    outs = llm.generate(job["prompts"], sps, use_tqdm=False)
    t2 = time.perf_counter()
    toks = sum(len(o.outputs[0].token_ids) for o in outs)
    json.dump({"tokens": toks, "generate_s": t2 - t1, "wall_s": t2 - t0,
               "texts": [o.outputs[0].text for o in outs]}, open(sys.argv[2], "w"))
'''


def run_rule(tmp: Path, cfg: dict) -> dict:
    wd = copy_workflow(tmp / "wf")
    (wd / "results/models").mkdir(parents=True)
    os.symlink(CKPT, wd / "results/models" / CKPT.name)
    (wd / "results/problems").mkdir(parents=True)
    shutil.copy(PROBLEMS, wd / "results/problems" / PROBLEMS.name)
    path = write_config(wd, cfg)
    target = f"results/samples/{MODEL}/{DATASET}/0.parquet"
    t0 = time.perf_counter()
    snakemake(wd, target, "--configfile", str(path), "--rerun-triggers", "mtime")  # --configfile takes many
    wall = time.perf_counter() - t0
    meta = io.read_metadata(wd / target)
    samples = io.read_parquet(wd / target)
    return {"tokens": meta["completion_tokens"], "generate_s": meta["generate_seconds"], "wall_s": wall,
            "texts": samples["text"].tolist()}


def run_bare(tmp: Path, cfg: dict) -> dict:
    from transformers import AutoTokenizer

    from infscale.contracts import sample_seed
    from infscale.generate import build_prompt

    job = C.generate_job(cfg, MODEL, DATASET)
    tok = AutoTokenizer.from_pretrained(CKPT)
    prompts, seeds = [], []
    for p in io.read_parquet(PROBLEMS).to_dict("records"):
        text = build_prompt(p, job["prompt_cfg"], tok, job["chat"])
        for i in range(job["samples_per_shard"]):
            prompts.append(text)
            seeds.append(sample_seed(MODEL, DATASET, p["problem_id"], i))
    spec = {"model": str(CKPT), "prompts": prompts, "seeds": seeds, "sampling": job["sampling"],
            "prompt_tokens": sum(len(tok.encode(p)) for p in prompts)}
    (tmp / "job.json").write_text(json.dumps(spec))
    (tmp / "bare.py").write_text(BARE)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, str(tmp / "bare.py"), str(tmp / "job.json"), str(tmp / "out.json")],
                          capture_output=True, text=True)
    if proc.returncode:
        sys.exit(f"bench_generate: the bare vLLM script failed:\n{proc.stderr[-4000:]}")
    out = json.loads((tmp / "out.json").read_text())
    out["process_wall_s"] = time.perf_counter() - t0
    return out


def main() -> None:
    if not (CKPT.exists() and PROBLEMS.exists()):
        sys.exit("bench_generate: run `make demo` first (needs the converted model and the problems)")
    cfg = yaml.safe_load((ROOT / "config/demo.yaml").read_text())
    cfg["models"] = {MODEL: cfg["models"][MODEL]}
    cfg["datasets"] = {DATASET: cfg["datasets"][DATASET]}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        bare = run_bare(tmp, cfg)
        rule = run_rule(tmp, cfg)
    rule_tps = rule["tokens"] / rule["generate_s"]
    bare_tps = bare["tokens"] / bare["generate_s"]
    result = {"rule_tok_s": rule_tps, "bare_tok_s": bare_tps, "ratio": rule_tps / bare_tps,
              "rule_tokens": rule["tokens"], "bare_tokens": bare["tokens"],
              "rule_wall_s": rule["wall_s"], "bare_wall_s": bare["process_wall_s"], "goal": 0.95,
              "same_texts": sum(a == b for a, b in zip(rule["texts"], bare["texts"])), "samples": len(bare["texts"])}
    io.write_json(result, ROOT / "results/bench/generate.json")
    print(f"generate: rule {rule_tps:.1f} tok/s vs bare vLLM {bare_tps:.1f} tok/s -> ratio {result['ratio']:.2f} "
          f"(goal >= 0.95); wall {rule['wall_s']:.0f} s vs {bare['process_wall_s']:.0f} s; "
          f"{result['same_texts']}/{result['samples']} samples identical")


if __name__ == "__main__":
    main()
