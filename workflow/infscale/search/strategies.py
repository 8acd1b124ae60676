"""Test-time search strategies on one compute ledger (Snell et al. 2024, arXiv 2408.03314, §5–§6).

Every strategy spends a budget of N "generations" per problem and ends with one final solution per
(problem, strategy, N). The ledger counts, per row, the tokens the policy read (prompt tokens of every request)
and generated, and the tokens the verifier (PRM) read and generated, so strategies are compared on equal terms:
- best-of-N (§5.1): N independent full samples, the final answer picked by the highest PRM reward (best_of_n, the
  paper's "naive"), by the answer with the largest summed reward (weighted), or by the most frequent answer
  (majority): infscale.vote's methods.
- beam search (§5.2): N beams; at each step keep the top N/M by the PRM score of the newest step and expand each
  into M candidates for the next step (the paper uses M = √N and M = 4). All problems and budgets advance in one
  batched call per step.
- lookahead-k (§5.2): beam search in which a candidate step is scored by rolling it out k more steps at T = 0 and
  scoring the rollout's last step; N beams cost N(k+1) generations.
- DVTS (Beeching et al. 2024, the "diverse verifier tree search" extension of §5.2): N/M independent subtrees,
  each a greedy PRM search that expands its single path into M candidates per step.
- sequential revisions (§6): N = chains × length; each attempt in a chain sees the previous ones and is asked
  to correct them. The final answer is chosen hierarchically: PRM-weighted vote within each chain, then a
  PRM-weighted vote across the chains' winners.
A step ends at the separator (config `search.step.separator`); a path ends at EOS, at a final-answer marker, or
after `max_steps` steps.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..contracts import SAMPLE_COLUMNS, identity_seed
from ..generate import build_messages
from .. import vote
from ..answers import EquivalenceCache, answer_classes
from ..verify.math import extract_answer
from ..config import with_defaults
from .prm import aggregate

log = logging.getLogger(__name__)

KINDS = ("best_of_n", "beam", "lookahead", "dvts", "revisions")
LEDGER = ["policy_prompt_tokens", "policy_generated_tokens", "verifier_prompt_tokens", "verifier_generated_tokens"]
SEARCH_COLUMNS = SAMPLE_COLUMNS + ["strategy", "budget", "generations", "reward", "n_steps"] + LEDGER
REVISE = "Check the solution above for mistakes, then write a corrected solution to the problem."
_FINAL_MARKERS = ("\\boxed", "####", "final answer")


# ---- selection: infscale.vote (one vote module for analysis and search; ties go to the earliest sample) ----------

def select(how: str, classes, rewards) -> int:
    """Index of the final sample among a problem's candidates, by vote method `how` (vote.METHODS)."""
    return vote.pick(how, classes, rewards, ties="first")


def select_hierarchical(chains_classes: list, chains_rewards: list) -> tuple[int, int]:
    """Snell et al. §6.2: weighted vote within each chain, then a weighted vote across the chains' winners.
    Returns (chain, index within chain). `chains_classes` must share class ids across chains."""
    winners = [select("weighted", c, r) for c, r in zip(chains_classes, chains_rewards)]
    cls = [chains_classes[i][w] for i, w in enumerate(winners)]
    rew = [chains_rewards[i][w] for i, w in enumerate(winners)]
    chain = select("weighted", cls, rew)
    return chain, winners[chain]


# ---- the policy, step by step ---------------------------------------------------------------------------------

@dataclass
class Ledger:
    policy_prompt_tokens: int = 0
    policy_generated_tokens: int = 0
    verifier_prompt_tokens: int = 0
    verifier_generated_tokens: int = 0

    def add(self, other: "Ledger") -> None:
        for k in LEDGER:
            setattr(self, k, getattr(self, k) + getattr(other, k))

    def as_dict(self) -> dict:
        return {k: int(getattr(self, k)) for k in LEDGER}


@dataclass
class Step:
    text: str
    prompt_tokens: int
    generated_tokens: int
    ended: bool  # EOS, a final-answer marker, or nothing generated


@dataclass
class Path:
    steps: list = field(default_factory=list)
    scores: list = field(default_factory=list)
    done: bool = False
    tokens: int = 0  # completion tokens of the kept steps


class Policy:
    """Step-wise generation on an engine of infscale.engines: one request per path, stopped at the step separator
    (a step ended at the separator carries it as the completion's stop_reason)."""

    def __init__(self, engine, sampling: dict, step_cfg: dict):
        self.engine = engine
        self.sampling = sampling
        step_cfg = with_defaults(step_cfg, "search", "step")
        self.sep = step_cfg["separator"]
        self.step_tokens = int(step_cfg["max_tokens"])
        self.max_steps = int(step_cfg["max_steps"])

    def continuation(self, prompt: str, steps: list[str]) -> str:
        return prompt + "".join(s + self.sep for s in steps)

    def _run(self, prompts, seeds, max_tokens, temperature, stop) -> list:
        top_p = self.sampling["top_p"] if temperature > 0 else 1.0
        params = {"temperature": temperature, "top_p": top_p, "max_tokens": max_tokens, "stop": stop}
        return self.engine.generate(prompts, params, seeds)

    def step(self, prompts: list[str], seeds: list[int], greedy: bool = False) -> list[Step]:
        if not prompts:
            return []
        temperature = 0.0 if greedy else float(self.sampling["temperature"])
        out = []
        for c in self._run(prompts, seeds, self.step_tokens, temperature, [self.sep]):
            eos = c.finish_reason == "stop" and c.stop_reason is None
            text = c.text.strip()
            marker = any(m in text.lower() for m in (x.lower() for x in _FINAL_MARKERS))
            out.append(Step(text, c.prompt_tokens, c.completion_tokens, eos or marker or not text))
        return out

    def full(self, prompts: list[str], seeds: list[int]) -> list[Step]:
        """Whole solutions (best-of-N, revisions), as long as max_steps steps could be."""
        temperature = float(self.sampling["temperature"])
        return [Step(c.text, c.prompt_tokens, c.completion_tokens, True)
                for c in self._run(prompts, seeds, self.step_tokens * self.max_steps, temperature, None)]


# ---- searches ---------------------------------------------------------------------------------------------------

@dataclass
class Run:
    """One (problem, budget) search: groups of paths, each group keeping `keep` parents per step."""
    problem: int
    budget: int
    groups: list  # per group: list of active parent Paths
    group_size: int
    keep: int
    finished: list = field(default_factory=list)  # Paths
    ledger: Ledger = field(default_factory=Ledger)


def width_for(width, n: int) -> int:
    """Beam width M: an int, or "sqrt" for round(√N) (Snell et al. §5.2); never more than N."""
    m = max(1, int(round(math.sqrt(n)))) if width == "sqrt" else int(width)
    return max(1, min(m, n))


class Searcher:
    def __init__(self, policy: Policy, prm, *, model: str, dataset: str, aggregation: str = "last",
                 final_selection: str = "weighted", extraction: dict | None = None):
        self.policy, self.prm = policy, prm
        self.extraction = {"style": None, "lenient": False, **(extraction or {})}
        self.model, self.dataset = model, dataset
        self.aggregation, self.final_selection = aggregation, final_selection
        self.cache = EquivalenceCache()

    def _classes(self, texts: list[str]) -> np.ndarray:
        ex = self.extraction   # the dataset's prompt style and lenient flag, as the verifier reads answers
        return answer_classes([extract_answer(t, ex["style"], ex["lenient"]) for t in texts], self.cache)

    def _row(self, pid, prompt_tokens, strategy, budget, generations, text, reward, n_steps, ledger: Ledger,
             completion_tokens, finish, seed) -> dict:
        return {"problem_id": pid, "text": text, "prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                "finish_reason": finish, "seed": seed, "strategy": strategy, "budget": budget,
                "generations": generations, "reward": reward, "n_steps": n_steps, **ledger.as_dict()}

    # -- best-of-N -------------------------------------------------------------------------------------------
    def best_of_n(self, name: str, problems: list[dict], prompts: list[str], budgets: list[int],
                  selections: list[str]) -> list[dict]:
        nmax = max(budgets)
        reqs = [(p, i) for p in range(len(problems)) for i in range(nmax)]
        seeds = [identity_seed(self.model, self.dataset, problems[p]["problem_id"], "best_of_n", i) for p, i in reqs]
        outs = self.policy.full([prompts[p] for p, _ in reqs], seeds)
        steps = [self._split(o.text) for o in outs]
        scored = self.prm.score_all([problems[p]["question"] for p, _ in reqs], steps)
        rows = []
        for p, problem in enumerate(problems):
            idx = [j for j, (q, _) in enumerate(reqs) if q == p]
            rewards = np.array([aggregate(scored.scores[j], self.aggregation) for j in idx])
            texts = [outs[j].text for j in idx]
            classes = self._classes(texts)
            for n in sorted(budgets):
                led = Ledger(sum(outs[j].prompt_tokens for j in idx[:n]), sum(outs[j].generated_tokens for j in idx[:n]),
                             sum(scored.prompt_tokens[j] for j in idx[:n]), sum(scored.generated_tokens[j] for j in idx[:n]))
                for how in selections:
                    k = select(how, classes[:n], rewards[:n])
                    j = idx[k]
                    rows.append(self._row(problem["problem_id"], outs[j].prompt_tokens, f"{name}_{how}", n, n, texts[k],
                                          float(rewards[k]), len(steps[j]), led, outs[j].generated_tokens, "stop", seeds[j]))
        return rows

    def _split(self, text: str) -> list[str]:
        from .prm import split_steps

        return split_steps(text, self.policy.sep)

    # -- beam search, DVTS, lookahead --------------------------------------------------------------------------
    def tree(self, name: str, kind: str, problems: list[dict], prompts: list[str], budgets: list[int],
             width, lookahead: int = 0) -> list[dict]:
        runs = []
        for p in range(len(problems)):
            for n in budgets:
                m = width_for(width, n)
                if kind == "dvts":
                    n_groups = max(1, n // m)
                    runs.append(Run(p, n, [[Path()] for _ in range(n_groups)], n // n_groups, 1))
                else:
                    runs.append(Run(p, n, [[Path()]], n, max(1, n // m)))
        for depth in range(self.policy.max_steps):
            reqs = []  # (run, group, parent, slot)
            for r, run in enumerate(runs):
                for g, parents in enumerate(run.groups):
                    if not parents:
                        continue
                    for slot in range(run.group_size):
                        reqs.append((r, g, parents[slot % len(parents)], slot))
            if not reqs:
                break
            seeds = [identity_seed(self.model, self.dataset, problems[runs[r].problem]["problem_id"], name,
                                   runs[r].budget, depth, g, slot) for r, g, _, slot in reqs]
            steps = self.policy.step([self.policy.continuation(prompts[runs[r].problem], par.steps)
                                      for r, _, par, _ in reqs], seeds)
            last = depth == self.policy.max_steps - 1
            cands = []
            for (r, g, par, _), st in zip(reqs, steps):
                runs[r].ledger.add(Ledger(st.prompt_tokens, st.generated_tokens))
                cands.append(Path(par.steps + [st.text], list(par.scores), st.ended or last, par.tokens + st.generated_tokens))
            scores = self._score_candidates(problems, prompts, runs, reqs, cands, lookahead, depth, name)
            new_groups = {(r, g): [] for r, run in enumerate(runs) for g in range(len(run.groups))}
            for (r, g, _, _), c, s in zip(reqs, cands, scores):
                c.scores.append(s)
                if c.done:
                    runs[r].finished.append(c)
                else:
                    new_groups[(r, g)].append(c)
            for (r, g), cs in new_groups.items():
                cs.sort(key=lambda c: -(c.scores[-1] if not math.isnan(c.scores[-1]) else -math.inf))
                runs[r].groups[g] = cs[: runs[r].keep]
        rows = []
        gens = (lambda n: n * (lookahead + 1)) if kind == "lookahead" else (lambda n: n)
        for run in runs:
            problem = problems[run.problem]
            pool = run.finished
            texts = [self.policy.sep.join(c.steps) for c in pool]
            rewards = np.array([aggregate(c.scores, self.aggregation) for c in pool])
            k = select(self.final_selection, self._classes(texts), rewards)
            best = pool[k]
            prompt_tokens = len(self.policy.engine.tokenizer.encode(prompts[run.problem]))
            rows.append(self._row(problem["problem_id"], prompt_tokens, name, run.budget, gens(run.budget), texts[k],
                                  float(rewards[k]), len(best.steps), run.ledger, best.tokens, "stop",
                                  identity_seed(self.model, self.dataset, problem["problem_id"], name, run.budget)))
        return rows

    def _score_candidates(self, problems, prompts, runs, reqs, cands, lookahead, depth, name) -> list[float]:
        """PRM score of each candidate's newest step; with lookahead, of the end of a k-step greedy rollout."""
        rolled = [list(c.steps) for c in cands]
        if lookahead:
            live = [i for i, c in enumerate(cands) if not c.done]
            for j in range(lookahead):
                if not live:
                    break
                seeds = [identity_seed(self.model, self.dataset, "rollout", name, depth, j, i) for i in live]
                outs = self.policy.step([self.policy.continuation(prompts[runs[reqs[i][0]].problem], rolled[i])
                                         for i in live], seeds, greedy=True)
                still = []
                for i, st in zip(live, outs):
                    runs[reqs[i][0]].ledger.add(Ledger(st.prompt_tokens, st.generated_tokens))
                    if st.text:
                        rolled[i].append(st.text)
                    if not st.ended:
                        still.append(i)
                live = still
        questions = [problems[runs[r].problem]["question"] for r, _, _, _ in reqs]
        scored = self.prm.score_last(questions, rolled)
        for (r, _, _, _), pt, gt in zip(reqs, scored.prompt_tokens, scored.generated_tokens):
            runs[r].ledger.add(Ledger(0, 0, pt, gt))
        return [s[0] if s else math.nan for s in scored.scores]

    # -- sequential revisions ---------------------------------------------------------------------------------
    def revisions(self, name: str, problems: list[dict], prompt_cfg: dict, budgets: list[int], chain: int,
                  context: int = 4) -> list[dict]:
        tok = self.policy.engine.tokenizer
        chains = []  # (problem, budget, chain index, length)
        for p in range(len(problems)):
            for n in budgets:
                length = max(1, min(chain, n))
                for c in range(max(1, n // length)):
                    chains.append((p, n, c, length))
        attempts: list[list] = [[] for _ in chains]  # per chain: (Step, reward, steps)
        ledgers = [Ledger() for _ in chains]
        for a in range(max(ch[3] for ch in chains)):
            live = [i for i, ch in enumerate(chains) if a < ch[3]]
            prompts = []
            for i in live:
                p = chains[i][0]
                messages = build_messages(problems[p], prompt_cfg)
                for prev in attempts[i][-context:] if a else []:
                    messages += [{"role": "assistant", "content": prev[0].text}, {"role": "user", "content": REVISE}]
                prompts.append(tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True))
            seeds = [identity_seed(self.model, self.dataset, problems[chains[i][0]]["problem_id"], name, chains[i][1],
                                   chains[i][2], a) for i in live]
            outs = self.policy.full(prompts, seeds)
            steps = [self._split(o.text) for o in outs]
            scored = self.prm.score_all([problems[chains[i][0]]["question"] for i in live], steps)
            for k, i in enumerate(live):
                ledgers[i].add(Ledger(outs[k].prompt_tokens, outs[k].generated_tokens, scored.prompt_tokens[k],
                                      scored.generated_tokens[k]))
                attempts[i].append((outs[k], aggregate(scored.scores[k], self.aggregation), steps[k], seeds[k]))
        rows = []
        for p, problem in enumerate(problems):
            for n in budgets:
                mine = [i for i, ch in enumerate(chains) if ch[0] == p and ch[1] == n]
                texts = [att[0].text for i in mine for att in attempts[i]]
                flat = self._classes(texts)
                cls, rew, pos = [], [], 0
                for i in mine:
                    cls.append(flat[pos: pos + len(attempts[i])])
                    rew.append([att[1] for att in attempts[i]])
                    pos += len(attempts[i])
                c, w = select_hierarchical(cls, rew)
                best = attempts[mine[c]][w]
                led = Ledger()
                for i in mine:
                    led.add(ledgers[i])
                rows.append(self._row(problem["problem_id"], best[0].prompt_tokens, name, n, n, best[0].text,
                                      float(best[1]), len(best[2]), led, best[0].generated_tokens, "stop", best[3]))
        return rows


def run_strategy(engine, prm, problems: pd.DataFrame, *, model: str, dataset: str, name: str, spec: dict,
                 budgets: list[int], sampling: dict, step_cfg: dict, prompt_cfg: dict, aggregation: str = "last",
                 extraction: dict | None = None) -> tuple[pd.DataFrame, dict]:
    """The samples-like table of one strategy: one final solution per (problem, strategy, N), with a reward
    and the ledger columns; `sample_index` numbers a problem's rows."""
    from ..generate import build_prompt

    spec = with_defaults(spec, "search", "strategies", "*")
    kind = spec.get("kind")
    if kind not in KINDS:
        raise ValueError(f"search strategy {name!r}: kind {kind!r} is not one of {', '.join(KINDS)}")
    policy = Policy(engine, sampling, step_cfg)
    searcher = Searcher(policy, prm, model=model, dataset=dataset, aggregation=aggregation,
                        final_selection=spec["selection"], extraction=extraction)
    probs = problems.to_dict("records")
    prompts = [build_prompt(p, prompt_cfg, engine.tokenizer, True) for p in probs]
    t0 = time.perf_counter()
    if kind == "best_of_n":
        rows = searcher.best_of_n(name, probs, prompts, budgets, list(spec["selections"]))
    elif kind in ("beam", "dvts"):
        rows = searcher.tree(name, kind, probs, prompts, budgets, spec["width"])
    elif kind == "lookahead":
        rows = searcher.tree(name, kind, probs, prompts, budgets, spec["width"], int(spec["k"]))
    else:
        rows = searcher.revisions(name, probs, prompt_cfg, budgets, int(spec["chain"]), int(spec["context"]))
    elapsed = time.perf_counter() - t0
    df = pd.DataFrame(rows)
    df["sample_index"] = df.groupby("problem_id").cumcount().astype("int64")
    for c in ["prompt_tokens", "completion_tokens", "seed", "budget", "generations", "n_steps"] + LEDGER:
        df[c] = df[c].astype("int64")
    df = df[SEARCH_COLUMNS].sort_values(["problem_id", "sample_index"], ignore_index=True)
    meta = {"model": model, "dataset": dataset, "strategy": name, "spec": spec, "budgets": list(budgets),
            "sampling": sampling, "step": step_cfg, "aggregation": aggregation, "prm": getattr(prm, "kind", "?"),
            "engine": engine.info, "seconds": elapsed,
            "policy_generated_tokens": int(df["policy_generated_tokens"].sum())}
    log.info("search %s/%s/%s: %d rows, %d policy tokens in %.1f s", model, dataset, name, len(df),
             meta["policy_generated_tokens"], elapsed)
    return df, meta
