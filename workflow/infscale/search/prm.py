"""Process reward model (PRM) scoring: one score in [0, 1] for every step of a solution (Snell et al. 2024,
arXiv 2408.03314, §5; Lightman et al. 2023 for PRMs).

A solution is split into steps at a separator (config `search.step.separator`, "\\n\\n" by default, as the Qwen
PRMs recommend). Step scores are aggregated into one reward per solution with `last` (Snell et al. use the last
step's score), `min`, `prod` or `mean`.

Two scorers with one interface:
- `PoolingPRM`: a process reward model served by vLLM's pooling runner (e.g. Qwen/Qwen2.5-Math-PRM-7B). The
  solution is rendered with a step tag after every step and vLLM's STEP pooler returns the classifier's
  (negative, positive) probabilities at each tag; the step score is the positive one. Needs a GPU; it cannot run
  on the CPU machines of this project (no such model can be had offline here) and is not exercised by the tests.
- `JudgePRM`: any instruct model used as a judge. For the prefix ending at step i it asks "is the last step
  correct?" and reads the probability of "Yes" against "No" from the top-20 log-probabilities of one generated
  token. Weak with a tiny model, but real; this is the CPU / CI path.

Both return, per scored item, the tokens the verifier read (prompt tokens) and generated, for the compute ledger.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import numpy as np

log = logging.getLogger(__name__)

AGGREGATIONS = ("last", "min", "prod", "mean")
JUDGE_QUESTION = ("Here is a math problem and the first steps of a solution.\n\nProblem:\n{question}\n\n"
                  "Solution so far:\n{steps}\n\nIs the last step of this solution correct? Answer Yes or No.")


def split_steps(text: str, separator: str = "\n\n") -> list[str]:
    """The non-empty steps of a solution."""
    if not isinstance(text, str):
        return []
    return [s.strip() for s in text.split(separator) if s.strip()]


def aggregate(scores, how: str = "last") -> float:
    """One reward from a solution's step scores; NaN when there are none."""
    if how not in AGGREGATIONS:
        raise ValueError(f"PRM aggregation {how!r} is not one of {', '.join(AGGREGATIONS)}")
    s = np.asarray(list(scores), dtype=np.float64)
    if s.size == 0:
        return math.nan
    if how == "last":
        return float(s[-1])
    if how == "min":
        return float(s.min())
    if how == "prod":
        return float(np.prod(s))
    return float(s.mean())


def yes_probability(top) -> float:
    """P(Yes) / (P(Yes) + P(No)) from the first generated token's top (token, logprob) pairs; 0.5 without either."""
    yes = no = 0.0
    for token, logprob in top:
        word = (token or "").strip().lower()
        if word == "yes":
            yes += math.exp(logprob)
        elif word == "no":
            no += math.exp(logprob)
    return 0.5 if yes + no == 0 else yes / (yes + no)


@dataclass
class Scored:
    """Step scores of a batch of items and what scoring them cost."""
    scores: list[list[float]]
    prompt_tokens: list[int] = field(default_factory=list)     # tokens the verifier read, per item
    generated_tokens: list[int] = field(default_factory=list)  # tokens the verifier generated, per item


class JudgePRM:
    """An instruct model as a step judge: P(Yes) / (P(Yes) + P(No)) for "is the last step correct?"."""

    kind = "judge"

    def __init__(self, llm, tokenizer, logprobs: int = 20, template: str = JUDGE_QUESTION):
        self.llm, self.tokenizer, self.logprobs, self.template = llm, tokenizer, logprobs, template

    def _prompt(self, question: str, steps: list[str]) -> str:
        body = "\n\n".join(steps)
        messages = [{"role": "user", "content": self.template.format(question=question, steps=body)}]
        return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

    @staticmethod
    def _yes_probability(top: dict) -> float:
        return yes_probability((lp.decoded_token, lp.logprob) for lp in top.values())

    def score_last(self, questions: list[str], prefixes: list[list[str]]) -> Scored:
        """Score the last step of each prefix (one judge request each)."""
        from vllm import SamplingParams

        if not prefixes:
            return Scored([], [], [])
        prompts = [self._prompt(q, p) for q, p in zip(questions, prefixes)]
        params = SamplingParams(max_tokens=1, temperature=0.0, logprobs=self.logprobs)
        outs = self.llm.generate(prompts, params, use_tqdm=False)
        scores = [[self._yes_probability(o.outputs[0].logprobs[0]) if o.outputs[0].logprobs else 0.5] for o in outs]
        return Scored(scores, [len(o.prompt_token_ids) for o in outs], [len(o.outputs[0].token_ids) for o in outs])

    def score_all(self, questions: list[str], steps: list[list[str]]) -> Scored:
        """Score every step of every solution: one judge request per (solution, step prefix)."""
        owner, qs, prefixes = [], [], []
        for i, (q, s) in enumerate(zip(questions, steps)):
            for j in range(len(s)):
                owner.append(i)
                qs.append(q)
                prefixes.append(s[: j + 1])
        flat = self.score_last(qs, prefixes)
        out = Scored([[] for _ in steps], [0] * len(steps), [0] * len(steps))
        for i, sc, pt, gt in zip(owner, flat.scores, flat.prompt_tokens, flat.generated_tokens):
            out.scores[i].append(sc[0])
            out.prompt_tokens[i] += pt
            out.generated_tokens[i] += gt
        return out


class OpenAIJudge(JudgePRM):
    """The step judge (same question, same Yes/No reading) on any OpenAI-compatible /v1/chat/completions endpoint
    that returns log-probabilities (`logprobs: true, top_logprobs: n`, as vLLM's server and the OpenAI API do)."""

    kind = "openai"

    def __init__(self, engine, logprobs: int = 20, template: str = JUDGE_QUESTION):
        super().__init__(None, None, min(int(logprobs), 20), template)
        self.engine = engine  # infscale.engines.OpenAIEngine: its retries, backoff and concurrency

    def _one(self, question: str, steps: list[str]) -> tuple[float, int, int]:
        body = {"model": self.engine.model, "max_tokens": 1, "temperature": 0.0, "logprobs": True,
                "top_logprobs": self.logprobs,
                "messages": [{"role": "user", "content": self.template.format(question=question,
                                                                              steps="\n\n".join(steps))}]}
        r = self.engine._post("/v1/chat/completions", body)
        content = ((r["choices"][0].get("logprobs") or {}).get("content") or [{}])[0]
        top = [(t.get("token"), t.get("logprob")) for t in content.get("top_logprobs") or []]
        usage = r.get("usage") or {}
        return yes_probability(top), int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0))

    def score_last(self, questions: list[str], prefixes: list[list[str]]) -> Scored:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=self.engine.concurrency) as pool:
            outs = list(pool.map(lambda a: self._one(*a), zip(questions, prefixes)))
        return Scored([[o[0]] for o in outs], [o[1] for o in outs], [o[2] for o in outs])


class PoolingPRM:
    """A process reward model on vLLM's pooling runner (STEP pooling over a step tag), e.g. Qwen2.5-Math-PRM-7B;
    with `pooling_task="classify"` an outcome reward model (a sequence classifier: one score per solution, the last
    class's probability, e.g. the positive class of a two-label ORM).

    Rendering follows the model card: a system prompt, the question as the user turn, and the steps as the
    assistant turn with the step tag after each step. `llm.encode(..., pooling_task="token_classify")` returns
    one (negative, positive) probability pair per tag. GPU only; not exercised here.
    """

    kind = "pooling"
    SYSTEM = "Please reason step by step, and put your final answer within \\boxed{}."

    def __init__(self, model: str, args: dict | None = None, step_tag: str = "<extra_0>", system: str | None = None,
                 pooling_task: str = "token_classify"):
        from vllm import LLM

        if pooling_task not in ("token_classify", "classify"):
            raise ValueError(f"pooling_task must be token_classify (PRM) or classify (ORM), got {pooling_task!r}")
        self.llm = LLM(model=model, runner="pooling", **(args or {}))
        self.tokenizer = self.llm.get_tokenizer()
        self.step_tag, self.system = step_tag, system or self.SYSTEM
        self.pooling_task = pooling_task

    def _prompt(self, question: str, steps: list[str]) -> str:
        messages = [{"role": "system", "content": self.system}, {"role": "user", "content": question},
                    {"role": "assistant", "content": "".join(s + self.step_tag for s in steps)}]
        return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=False)

    def score_all(self, questions: list[str], steps: list[list[str]]) -> Scored:
        keep = [i for i, s in enumerate(steps) if s]
        out = Scored([[] for _ in steps], [0] * len(steps), [0] * len(steps))
        if not keep:
            return out
        results = self.llm.encode([self._prompt(questions[i], steps[i]) for i in keep],
                                  pooling_task=self.pooling_task, use_tqdm=False)
        for i, r in zip(keep, results):
            data = np.asarray(r.outputs.data, dtype=np.float64)
            if self.pooling_task == "classify":   # an ORM: one class-probability vector for the whole solution
                out.scores[i] = [float(data.reshape(-1)[-1])]
            else:
                out.scores[i] = [float(x) for x in data.reshape(-1, 2)[:, 1]]
            out.prompt_tokens[i] = len(r.prompt_token_ids)
        return out

    def score_last(self, questions: list[str], prefixes: list[list[str]]) -> Scored:
        full = self.score_all(questions, prefixes)
        return Scored([[s[-1]] if s else [math.nan] for s in full.scores], full.prompt_tokens, full.generated_tokens)


def make_prm(prm_cfg: dict, policy_engine=None):
    """The configured scorer. A judge whose model is the policy's shares the policy's engine."""
    kind = prm_cfg.get("kind", "judge")
    if kind == "judge":
        if policy_engine is None:
            raise ValueError("a judge PRM needs an engine")
        return JudgePRM(policy_engine.llm, policy_engine.tokenizer, int(prm_cfg.get("logprobs", 20)))
    if kind == "pooling":
        return PoolingPRM(prm_cfg.get("model"), prm_cfg.get("args"), prm_cfg.get("step_tag", "<extra_0>"),
                          prm_cfg.get("system"), prm_cfg.get("pooling_task", "token_classify"))
    if kind == "openai":
        from ..engines import OpenAIEngine
        return OpenAIJudge(OpenAIEngine(prm_cfg["base_url"], prm_cfg["model"], prm_cfg.get("api_key_env"),
                                        int(prm_cfg.get("concurrency", 8)), int(prm_cfg.get("retries", 4)),
                                        float(prm_cfg.get("timeout_s", 600.0))), int(prm_cfg.get("logprobs", 20)))
    raise ValueError(f"verifier kind {kind!r} is not one of judge, pooling, openai")
