"""Process reward model (PRM) scoring: one score in [0, 1] for every step of a solution (Snell et al. 2024,
arXiv 2408.03314, §5; Lightman et al. 2023 for PRMs).

A solution is split into steps at a separator (config `search.step.separator`, "\\n\\n" by default, as the Qwen
PRMs recommend). Step scores are aggregated into one reward per solution with `last` (Snell et al. use the last
step's score), `min`, `prod` or `mean`.

Two scorers with one interface, both on infscale.engines (the process's engines, started once):
- `PoolingPRM`: a process reward model on the engine's pooling call (e.g. Qwen/Qwen2.5-Math-PRM-7B). The
  solution is rendered with a step tag after every step and the model's STEP pooler returns the classifier's
  (negative, positive) probabilities at each tag; the step score is the positive one. A real PRM needs a GPU
  and cannot be had offline here: the tests check the step shaping on a stand-in engine, and the pooling call
  itself on CPU with the demo model converted to a classifier (an ORM, `convert: classify`).
- `JudgePRM`: any instruct model used as a judge, on a local engine (`judge`: the policy's own engine) or an
  OpenAI-compatible endpoint (`openai`). For the prefix ending at step i it asks "is the last step correct?" and
  reads the probability of "Yes" against "No" from the top-20 log-probabilities of one generated token. Weak with
  a tiny model, but real; this is the CPU / CI path.

Both return, per scored item, the tokens the verifier read (prompt tokens) and generated, for the compute ledger.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import numpy as np

from ..config import with_defaults

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
    """An instruct model as a step judge: P(Yes) / (P(Yes) + P(No)) for "is the last step correct?", from the
    top log-probabilities of one greedy token. Any engine of infscale.engines: a local one renders the question with
    the model's chat template, an OpenAI-compatible endpoint (`kind: openai`) gets the chat messages."""

    def __init__(self, engine, logprobs: int = 20, template: str = JUDGE_QUESTION, kind: str = "judge"):
        self.engine, self.logprobs, self.template, self.kind = engine, int(logprobs), template, kind

    def _prompt(self, question: str, steps: list[str]):
        body = "\n\n".join(steps)
        messages = [{"role": "user", "content": self.template.format(question=question, steps=body)}]
        if self.engine.tokenizer is None:   # an endpoint applies its own chat template
            return messages
        return self.engine.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

    def score_last(self, questions: list[str], prefixes: list[list[str]]) -> Scored:
        """Score the last step of each prefix (one judge request each)."""
        if not prefixes:
            return Scored([], [], [])
        prompts = [self._prompt(q, p) for q, p in zip(questions, prefixes)]
        outs = self.engine.generate(prompts, {"max_tokens": 1, "temperature": 0.0, "logprobs": self.logprobs},
                                    [0] * len(prompts))
        scores = [[yes_probability(o.top_logprobs[0]) if o.top_logprobs else 0.5] for o in outs]
        return Scored(scores, [o.prompt_tokens for o in outs], [o.completion_tokens for o in outs])

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


class PoolingPRM:
    """A process reward model on the engine's pooling call (STEP pooling over a step tag), e.g.
    Qwen2.5-Math-PRM-7B; with `pooling_task="classify"` an outcome reward model (a sequence classifier: one score
    per solution, the last class's probability, e.g. the positive class of a two-label ORM).

    Rendering follows the model card: a system prompt, the question as the user turn, and the steps as the
    assistant turn with the step tag after each step. The "token_classify" task returns one (negative, positive)
    probability pair per tag. A real PRM needs a GPU (tests/test_search_units.py runs the shaping on a stand-in
    engine, tests/test_search_engine.py the ORM path on CPU).
    """

    kind = "pooling"
    SYSTEM = "Please reason step by step, and put your final answer within \\boxed{}."

    def __init__(self, engine, step_tag: str = "<extra_0>", system: str | None = None,
                 pooling_task: str = "token_classify"):
        if pooling_task not in ("token_classify", "classify"):
            raise ValueError(f"pooling_task must be token_classify (PRM) or classify (ORM), got {pooling_task!r}")
        self.engine = engine
        self.step_tag, self.system = step_tag, system or self.SYSTEM
        self.pooling_task = pooling_task

    def _prompt(self, question: str, steps: list[str]) -> str:
        messages = [{"role": "system", "content": self.system}, {"role": "user", "content": question},
                    {"role": "assistant", "content": "".join(s + self.step_tag for s in steps)}]
        return self.engine.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=False)

    def score_all(self, questions: list[str], steps: list[list[str]]) -> Scored:
        keep = [i for i, s in enumerate(steps) if s]
        out = Scored([[] for _ in steps], [0] * len(steps), [0] * len(steps))
        if not keep:
            return out
        results = self.engine.pool([self._prompt(questions[i], steps[i]) for i in keep], self.pooling_task)
        for i, r in zip(keep, results):
            if self.pooling_task == "classify":   # an ORM: one class-probability vector for the whole solution
                out.scores[i] = [float(r.data.reshape(-1)[-1])]
            else:
                out.scores[i] = [float(x) for x in r.data.reshape(-1, 2)[:, 1]]
            out.prompt_tokens[i] = r.prompt_tokens
        return out

    def score_last(self, questions: list[str], prefixes: list[list[str]]) -> Scored:
        full = self.score_all(questions, prefixes)
        return Scored([[s[-1]] if s else [math.nan] for s in full.scores], full.prompt_tokens, full.generated_tokens)


def make_prm(prm_cfg: dict, policy=None):
    """The configured scorer on the process's engines (infscale.engines.get_engine). `policy` is the policy's
    engine, or a function that returns it, called only for a judge: a judge on the policy model shares its engine."""
    from ..engines import get_engine, openai_engine

    prm_cfg = with_defaults(prm_cfg, "search", "prm")
    kind = prm_cfg["kind"]
    if kind == "judge":
        engine = policy() if callable(policy) else policy
        if engine is None:
            raise ValueError("a judge PRM needs an engine")
        return JudgePRM(engine, int(prm_cfg["logprobs"]))
    if kind == "pooling":
        engine = get_engine({"args": prm_cfg.get("args")}, prm_cfg.get("model"), runner="pooling")
        return PoolingPRM(engine, prm_cfg["step_tag"], prm_cfg.get("system"), prm_cfg["pooling_task"])
    if kind == "openai":
        return JudgePRM(openai_engine(prm_cfg), int(prm_cfg["logprobs"]), kind="openai")
    raise ValueError(f"verifier kind {kind!r} is not one of judge, pooling, openai")


def policy_engine_cfg(engine_cfg: dict, prm_cfgs) -> dict:
    """The policy's engine settings in a process that also holds the pooling PRMs among `prm_cfgs`: on a GPU its
    memory share leaves room for theirs (infscale.engines.gpu_share)."""
    from ..engines import gpu_share

    for c in prm_cfgs:
        if c.get("kind") == "pooling":
            engine_cfg = gpu_share(engine_cfg, c.get("args"))
    return engine_cfg
