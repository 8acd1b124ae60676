"""Generate stage: render each problem's prompt for the model, then draw the shard's samples.

Shard s holds sample indices [s·S, (s+1)·S) for every problem, or, under a live adaptive policy, the problems
and index ranges its plan names (infscale.adaptive.next_shard); each sample's seed comes only from its identity
(contracts.sample_seed), so the same identity on the same engine build gives the same text whatever the shard
layout or batch. Output: results/samples/{model}/{dataset}/{shard}.parquet with the engine, its version, the
sampling params and the model source in the file's metadata.
"""

from __future__ import annotations

import json
import logging
import re
import time

import pandas as pd

from . import __version__, io
from .cli import TERMINAL
from .config import with_defaults
from .contracts import PROBLEM_COLUMNS, ContractError, require_columns, sample_seed, shard_indices
from .problems import last_boxed

log = logging.getLogger(__name__)

_CALC = re.compile(r"<<[^>]*>>")  # GSM8K's calculator annotations


def _format_shot(style: str, question: str, answer: str | None) -> tuple[str, str | None]:
    """(user text, assistant text) of one example in the given prompt style."""
    if style == "gsm8k":
        return question, None if answer is None else _CALC.sub("", answer)
    if style == "minerva":  # Lewkowycz et al. 2022 (Minerva) prompt format, used by Monkeys for MATH
        q = f"Problem:\n{question}"
        if answer is None:
            return q, None
        final = last_boxed(answer)
        tail = f"\nFinal Answer: The final answer is ${final}$. I hope it is correct." if final else ""
        return q, answer + tail
    return question, answer


def build_messages(problem: dict, prompt_cfg: dict) -> list[dict]:
    """Chat messages: few-shot examples as user/assistant turns, then the question. `prompt_cfg` is a dataset's
    prompt entry; one built by hand gets the schema's defaults (style plain)."""
    prompt_cfg = with_defaults(prompt_cfg, "datasets", "*", "prompt")
    style = prompt_cfg["style"]
    shots = json.loads(problem["fewshot"]) if problem.get("fewshot") else []
    messages = []
    for shot in shots:
        u, a = _format_shot(style, shot["question"], shot["answer"])
        messages += [{"role": "user", "content": u}, {"role": "assistant", "content": a}]
    u, _ = _format_shot(style, problem["question"], None)
    messages.append({"role": "user", "content": u})
    if prompt_cfg.get("instruction"):
        messages[0]["content"] = prompt_cfg["instruction"].rstrip() + "\n\n" + messages[0]["content"]
    return messages


def render_plain(messages: list[dict], prompt_cfg: dict) -> str:
    """Few-shot text for base models: 'Question:/Answer:' pairs (or Minerva's Problem:/Solution:)."""
    minerva = prompt_cfg.get("style") == "minerva"
    out = ""
    for m in messages:
        if m["role"] == "user":
            out += m["content"] + "\n\nSolution:" if minerva else f"Question: {m['content']}\nAnswer:"
        else:
            out += ("\n" if minerva else " ") + m["content"] + "\n\n"
    return out


def build_prompt(problem: dict, prompt_cfg: dict, tokenizer, chat: bool):
    messages = build_messages(problem, prompt_cfg)
    if not chat:
        return render_plain(messages, prompt_cfg)
    if tokenizer is None:  # an API endpoint applies its own chat template
        return messages
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


def generate_shard(problems: pd.DataFrame, engine, *, model: str, dataset: str, shard: int,
                   samples_per_shard: int, sampling: dict, prompt_cfg: dict, chat: bool,
                   model_source: dict, plan: pd.DataFrame | None = None) -> tuple[pd.DataFrame, dict]:
    """The samples table of one shard and its file metadata. `plan` (problem_id, start, stop), from an adaptive
    policy, limits the shard to those problems and gives each its own index range."""
    require_columns(problems, PROBLEM_COLUMNS, "problems")
    indices = shard_indices(shard, samples_per_shard)
    ranges = {p: indices for p in problems["problem_id"]}
    if plan is not None:
        ranges = {r.problem_id: range(int(r.start), int(r.stop)) for r in plan.itertuples()}
        unknown = set(ranges) - set(problems["problem_id"])
        if unknown:
            raise ContractError(f"adaptive plan of shard {shard} names problem(s) not in the problems table: "
                                f"{', '.join(sorted(map(str, unknown))[:3])}")
        problems = problems[problems["problem_id"].isin(ranges)]
    prompts, seeds, rows = [], [], []
    for problem in problems.to_dict("records"):
        prompt = build_prompt(problem, prompt_cfg, engine.tokenizer, chat)
        for i in ranges[problem["problem_id"]]:
            prompts.append(prompt)
            seeds.append(sample_seed(model, dataset, problem["problem_id"], i))
            rows.append((problem["problem_id"], i))
    t0 = time.perf_counter()
    completions = engine.generate(prompts, sampling, seeds) if prompts else []
    elapsed = time.perf_counter() - t0
    df = pd.DataFrame({
        "problem_id": [r[0] for r in rows],
        "sample_index": pd.array([r[1] for r in rows], dtype="int64"),
        "text": [c.text for c in completions],
        "prompt_tokens": pd.array([c.prompt_tokens for c in completions], dtype="int64"),
        "completion_tokens": pd.array([c.completion_tokens for c in completions], dtype="int64"),
        "finish_reason": [c.finish_reason for c in completions],
        "seed": pd.array(seeds, dtype="int64"),
    })
    meta = {
        "model": model, "dataset": dataset, "shard": shard, "sample_indices": [indices.start, indices.stop] if plan is None else "adaptive",
        "engine": engine.info, "sampling": sampling, "prompt": prompt_cfg, "chat": chat,
        "model_source": model_source, "infscale_version": __version__,
        "generate_seconds": elapsed, "completion_tokens": int(df["completion_tokens"].sum()),
    }
    log.info("shard %s/%s/%d: %d samples, %d completion tokens in %.1f s (%.1f tok/s)", model, dataset, shard,
             len(df), meta["completion_tokens"], elapsed, meta["completion_tokens"] / max(elapsed, 1e-9),
             extra=TERMINAL)
    return df, meta


def run(problems_path: str, out_path: str, *, model: str, dataset: str, shard: int, samples_per_shard: int,
        sampling: dict, prompt_cfg: dict, chat: bool, source: dict, engine_cfg: dict,
        checkpoint_dir: str | None = None, plan_path: str | None = None) -> pd.DataFrame:
    """Load problems, start the engine, generate one shard (only the problems of its adaptive plan, if any) and
    write it atomically."""
    from .engines import engine_for
    from .model import source_record

    problems = io.read_parquet(problems_path)
    plan = None
    if plan_path:
        from .adaptive import read_plan

        plan = read_plan(plan_path)
    engine = engine_for(source, engine_cfg, checkpoint_dir)
    df, meta = generate_shard(problems, engine, model=model, dataset=dataset, shard=shard,
                              samples_per_shard=samples_per_shard, sampling=sampling, prompt_cfg=prompt_cfg,
                              chat=chat, model_source=source_record(source, checkpoint_dir), plan=plan)
    io.write_parquet(df, out_path, meta)
    return df
