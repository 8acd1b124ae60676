"""Search stage, pure parts: step splitting, PRM aggregation, answer selection, beam widths, config lookups."""

import math

import numpy as np
import pytest
import yaml

from infscale import config as C
from infscale import layout as L
from infscale.search.prm import aggregate, split_steps
from infscale.search.strategies import select, select_hierarchical, width_for
from conftest import ROOT


def test_split_steps_drops_empty_steps():
    assert split_steps("a\n\nb\n\n\n\nc\n\n", "\n\n") == ["a", "b", "c"]
    assert split_steps("one step", "\n\n") == ["one step"]
    assert split_steps("", "\n\n") == [] and split_steps(None, "\n\n") == []
    assert split_steps("x ## y", "##") == ["x", "y"]


def test_aggregations():
    s = [0.9, 0.5, 0.8]
    assert aggregate(s, "last") == 0.8
    assert aggregate(s, "min") == 0.5
    assert aggregate(s, "prod") == pytest.approx(0.36)
    assert aggregate(s, "mean") == pytest.approx(2.2 / 3)
    assert math.isnan(aggregate([], "min"))
    with pytest.raises(ValueError, match="aggregation 'max'"):
        aggregate(s, "max")


def test_selections():
    classes = np.array([0, 1, 1, 2, -1])
    rewards = np.array([0.9, 0.5, 0.6, 0.2, 0.95])
    assert select("best_of_n", classes, rewards) == 4       # the single highest reward, even without an answer
    assert select("weighted", classes, rewards) == 2        # class 1 sums 1.1 > 0.9; its best member is index 2
    assert select("majority", classes, rewards) == 1        # class 1 has two votes; its first member
    assert select("majority", np.array([2, 0, 0, 2]), None) == 0   # tie between classes 2 and 0: earliest sample
    assert select("majority", np.array([-1, -1]), None) == 0
    assert select("best_of_n", None, [np.nan, 0.1]) == 1    # NaN rewards never win
    # raw rewards, no shift: A sums -0.20, B -0.15, so B (index 2) wins
    assert select("weighted", np.array([0, 0, 1]), np.array([-0.10, -0.10, -0.15])) == 2
    with pytest.raises(ValueError, match="vote method 'naive'"):
        select("naive", classes, rewards)


def test_hierarchical_selection_within_then_across_chains():
    # chain 0 votes for class 0 (0.4+0.4) over class 1 (0.7): winner is a class-0 attempt with reward 0.4
    # chain 1 has one class-1 attempt (0.6); chain 2 a class-1 attempt (0.3). Across chains class 1 sums 0.9 > 0.4.
    chains_classes = [np.array([0, 0, 1]), np.array([1]), np.array([1])]
    chains_rewards = [np.array([0.4, 0.4, 0.7]), np.array([0.6]), np.array([0.3])]
    assert select_hierarchical(chains_classes, chains_rewards) == (1, 0)
    # with chain 1's attempt weaker (0.1) and no chain 2, class 0 (0.4) wins across chains: chain 0's winner
    assert select_hierarchical(chains_classes[:2], [chains_rewards[0], np.array([0.1])]) == (0, 0)


def test_beam_width():
    assert [width_for("sqrt", n) for n in (1, 4, 16, 256)] == [1, 2, 4, 16]
    assert width_for(4, 2) == 2 and width_for(4, 64) == 4


def test_demo_and_paper_configs_have_a_valid_search_plan():
    demo = C.load(ROOT / "config" / "demo.yaml")
    paper = C.load(ROOT / "config" / "config.yaml")
    assert L.search_pairs(demo) == [("smollm2-135m", "gsm8k")]
    assert max(paper["search"]["budgets"]) == 256 and paper["search"]["prm"]["kind"] == "pooling"
    job = L.strategy_job(demo, "smollm2-135m", "gsm8k", "beam_sqrt")
    assert {k: job["spec"][k] for k in ("kind", "width", "k", "selection")} == {"kind": "beam", "width": "sqrt", "k": 1, "selection": "weighted"} and job["budgets"] == [1, 2, 4]
    assert job["step_cfg"]["separator"] == "\n\n" and job["prm_cfg"]["aggregation"] == "last"


def test_bad_search_config_is_one_line():
    demo = yaml.safe_load((ROOT / "config" / "demo.yaml").read_text())
    demo["search"]["strategies"]["beam_sqrt"]["kind"] = "bream"
    with pytest.raises(C.ConfigError, match="search.strategies.beam_sqrt.kind"):
        C.validate(demo)
    demo["search"]["strategies"]["beam_sqrt"] = {"kind": "beam", "widht": 2}
    with pytest.raises(C.ConfigError, match="widht"):
        C.validate(demo)
    demo["search"]["strategies"] = {"prm": {"kind": "beam"}}
    with pytest.raises(C.ConfigError):
        C.validate(demo)


def test_search_votes_extract_answers_in_the_datasets_style():
    from infscale.search.strategies import Searcher
    texts = ["so #### 5", "so \\boxed{5}", "the answer is 5"]
    strict = Searcher(None, None, model="m", dataset="d", extraction={"style": "gsm8k", "lenient": False})
    assert strict._classes(texts).tolist() == [0, -1, -1]
    lenient = Searcher(None, None, model="m", dataset="d", extraction={"style": "gsm8k", "lenient": True})
    assert lenient._classes(texts).tolist() == [0, 0, 0]


# ---- the engine boundary: search and PRM code reach models only through infscale.engines ------------------------

def test_search_code_names_no_engine_package():
    """`grep -rn vllm workflow/infscale/search` finds nothing, and importing the search stage imports no vLLM."""
    import subprocess
    import sys

    search = ROOT / "workflow" / "infscale" / "search"
    named = [f"{p.name}:{i}" for p in sorted(search.rglob("*.py"))
             for i, line in enumerate(p.read_text().splitlines(), 1) if "vllm" in line.lower()]
    assert named == []
    code = ("import sys, infscale.search.run, infscale.search.strategies, infscale.search.prm, infscale.score; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'vllm'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


class _FakeEngine:
    """An engine of infscale.engines' interface (generate / pool / tokenizer), answering from given completions."""

    class _Tok:
        def apply_chat_template(self, messages, tokenize=False, add_generation_prompt=True):
            return "|".join(f"{m['role']}:{m['content']}" for m in messages)

        def encode(self, text):
            return text.split()

    def __init__(self, completions=None, pooled=None, tokenizer=True):
        self.completions, self.pooled, self.calls = completions or [], pooled or [], []
        self.tokenizer = self._Tok() if tokenizer else None
        self.info = {"engine": "fake"}

    def generate(self, prompts, params, seeds):
        from infscale.engines import per_request

        self.calls.append((list(prompts), per_request(params, len(prompts)), list(seeds)))
        return self.completions[: len(prompts)]

    def pool(self, prompts, task="token_classify"):
        self.calls.append((list(prompts), task))
        return self.pooled[: len(prompts)]


def test_per_request_sampling_params_shared_or_one_each():
    from infscale.engines import _sampling_kwargs, per_request

    shared = {"temperature": 0.7, "stop": None}
    assert per_request(shared, 3) == [shared] * 3
    assert per_request([{"a": 1}, {"a": 2}], 2) == [{"a": 1}, {"a": 2}]
    with pytest.raises(ValueError, match="2 sampling params for 3 prompts"):
        per_request([{}, {}], 3)
    assert _sampling_kwargs({"temperature": 0.0, "stop": None, "logprobs": 5, "seed": 1}) == \
        {"temperature": 0.0, "logprobs": 5}


def test_policy_steps_end_at_eos_or_a_final_answer_not_at_the_separator():
    from infscale.engines import Completion
    from infscale.search.strategies import Policy

    outs = [Completion("2 + 3 = 5.", 10, 6, "stop", "\n\n"),      # stopped at the separator: the path goes on
            Completion("so 5", 10, 3, "stop", None),               # EOS: the path ends
            Completion("a long step", 10, 16, "length", None),     # cut at the step's token limit: goes on
            Completion("#### 5", 10, 3, "stop", "\n\n")]           # a final-answer marker: ends
    engine = _FakeEngine(outs)
    policy = Policy(engine, {"temperature": 0.9, "top_p": 0.95}, {"separator": "\n\n", "max_tokens": 16})
    steps = policy.step(["p"] * 4, [1, 2, 3, 4])
    assert [s.ended for s in steps] == [False, True, False, True]
    assert [(s.prompt_tokens, s.generated_tokens) for s in steps][0] == (10, 6)
    _, params, seeds = engine.calls[0]
    assert seeds == [1, 2, 3, 4]
    assert params[0] == {"temperature": 0.9, "top_p": 0.95, "max_tokens": 16, "stop": ["\n\n"]}
    policy.step(["p"], [7], greedy=True)
    assert engine.calls[-1][1][0] == {"temperature": 0.0, "top_p": 1.0, "max_tokens": 16, "stop": ["\n\n"]}


def test_judge_reads_yes_no_from_the_engines_top_logprobs():
    from infscale.engines import Completion
    from infscale.search.prm import JudgePRM

    lp = math.log
    outs = [Completion("Yes", 30, 1, "length", None, lp(0.6), [[("Yes", lp(0.6)), (" No", lp(0.2)), ("x", lp(0.1))]]),
            Completion("No", 40, 1, "length", None, None, []),          # no log-probabilities: 0.5
            Completion("ok", 35, 1, "length", None, None, [[("ok", lp(0.9))]])]   # neither Yes nor No: 0.5
    engine = _FakeEngine(outs)
    judge = JudgePRM(engine, logprobs=7)
    s = judge.score_all(["q1", "q2"], [["a", "b"], ["c"]])
    assert s.scores == [[pytest.approx(0.75), 0.5], [0.5]]
    assert s.prompt_tokens == [70, 35] and s.generated_tokens == [2, 1]
    prompts, params, _ = engine.calls[0]
    assert params == [{"max_tokens": 1, "temperature": 0.0, "logprobs": 7}] * 3
    assert "Solution so far:\na\n\nb" in prompts[1] and prompts[1].startswith("user:")
    # on an endpoint (no tokenizer) the judge sends the chat messages themselves
    chat = JudgePRM(_FakeEngine(outs, tokenizer=False), kind="openai")
    chat.score_last(["q"], [["a"]])
    assert chat.engine.calls[0][0][0][0]["role"] == "user" and chat.kind == "openai"


def test_pooling_prm_on_the_engines_pool_call():
    """The pooling PRM's shaping on a stand-in engine: vLLM's pooling runner needs a GPU and a PRM checkpoint,
    neither of which this machine has."""
    from infscale.engines import Pooled
    from infscale.search.prm import PoolingPRM

    pooled = [Pooled(np.array([[0.2, 0.8], [0.7, 0.3]]), 50), Pooled(np.array([[0.1, 0.9]]), 30)]
    engine = _FakeEngine(pooled=pooled)
    prm = PoolingPRM(engine, step_tag="<t>")
    s = prm.score_all(["q1", "q0", "q2"], [["a", "b"], [], ["c"]])
    assert s.scores == [[0.8, 0.3], [], [0.9]] and s.prompt_tokens == [50, 0, 30] and s.generated_tokens == [0, 0, 0]
    prompts, task = engine.calls[0]
    assert task == "token_classify" and len(prompts) == 2 and "assistant:a<t>b<t>" in prompts[0]
    assert prm.score_last(["q1"], [["a", "b"]]).scores == [[0.3]]
    orm = PoolingPRM(_FakeEngine(pooled=[Pooled(np.array([0.35, 0.65]), 20)]), pooling_task="classify")
    assert orm.score_all(["q"], [["a", "b"]]).scores == [[0.65]] and orm.engine.calls[0][1] == "classify"


class _Started:
    """Stands in for engines.VLLMEngine in registry tests: records what it was started with."""
    started: list = []

    def __init__(self, model, revision=None, args=None, device="auto", cpu_kvcache_gib=2, runner="generate"):
        self.runner, self.tokenizer = runner, None
        self.info = {"engine": "vllm", "device": "cpu" if device == "cpu" else "gpu", "args": dict(args or {})}
        type(self).started.append((model, runner, dict(args or {})))


@pytest.fixture
def registry(monkeypatch):
    from infscale import engines

    monkeypatch.setattr(engines, "_ENGINES", {})
    monkeypatch.setattr(engines, "VLLMEngine", _Started)
    monkeypatch.setattr(engines, "on_cpu", lambda device="auto": device == "cpu")   # as where the GPU build is
    _Started.started = []
    return engines


def test_one_engine_per_process_shared_by_generation_search_judge_and_score(registry):
    from infscale import score as S
    from infscale.search import run as R
    from infscale.search.prm import make_prm

    cfg = {"kind": "vllm", "device": "cpu", "args": {"max_model_len": 2048}}
    source = {"hf": "org/policy"}
    a = registry.engine_for(source, cfg)
    assert registry.engine_for(source, {**cfg, "args": {"max_model_len": 2048}}) is a   # same settings, same engine
    assert make_prm({"kind": "judge"}, lambda: registry.engine_for(source, cfg)).engine is a
    job = {"source": source, "engine_cfg": cfg, "prm_cfg": {"kind": "judge"}}
    with pytest.raises(registry.EngineError, match="local engine"):   # the stand-in has no tokenizer
        R.start(job, None)
    scorers = S.make_scorers({"source": source, "engine_cfg": cfg, "verifiers": {"j": {"kind": "judge"}}})
    assert scorers["j"].engine is a and len(_Started.started) == 1
    assert registry.engine_for(source, {**cfg, "args": {"max_model_len": 1024}}) is not a   # other settings
    o = {"base_url": "http://127.0.0.1:9", "model": "judge"}
    assert make_prm({"kind": "openai", **o}).engine is make_prm({"kind": "openai", **o, "logprobs": 5}).engine


def test_a_pooling_prm_goes_through_the_registry_and_shares_the_gpu(registry):
    from infscale.search.prm import make_prm, policy_engine_cfg

    prm_cfg = {"kind": "pooling", "model": "org/prm", "args": {"gpu_memory_utilization": 0.4}}
    policy_cfg = policy_engine_cfg({"device": "gpu", "args": {"gpu_memory_utilization": 0.9}}, [prm_cfg])
    assert policy_cfg["args"]["gpu_memory_utilization"] == 0.5     # the PRM's share is kept, the policy gets the rest
    registry.get_engine(policy_cfg, "org/policy")
    p1, p2 = make_prm(prm_cfg), make_prm(prm_cfg)
    assert p1.engine is p2.engine and _Started.started[-1] == ("org/prm", "pooling", {"gpu_memory_utilization": 0.4})
    assert len(_Started.started) == 2
    # neither sets a share: half each; a PRM started beside the policy without its own takes what is left
    half = policy_engine_cfg({"device": "gpu", "args": {}}, [{"kind": "pooling", "model": "org/prm"}])
    assert half["args"]["gpu_memory_utilization"] == 0.45
    assert policy_engine_cfg({"device": "cpu", "args": {}}, [prm_cfg]) == {"device": "cpu", "args": {}}
    registry._ENGINES.clear()
    registry.get_engine(half, "org/policy")
    make_prm({"kind": "pooling", "model": "org/prm"})
    assert _Started.started[-1][2] == {"gpu_memory_utilization": 0.45}
    # a share that does not fit is refused with one line, before any engine starts
    registry._ENGINES.clear()
    registry.get_engine({"device": "gpu", "args": {}}, "org/policy")   # vLLM's own default share
    n = len(_Started.started)
    with pytest.raises(registry.EngineError, match="gpu_memory_utilization shares summing to at most 0.9"):
        make_prm(prm_cfg)
    assert len(_Started.started) == n


def test_openai_engine_returns_stop_reason_and_logprobs_of_the_completions_endpoint():
    """The OpenAI-compatible engine on /v1/completions (a local HTTP server answering as `vllm serve` does:
    choices[0].logprobs.top_logprobs, one {token: logprob} per generated token, and vLLM's stop_reason)."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from infscale.engines import OpenAIEngine
    from workflow_helpers import send_json

    bodies = []

    class _Completions(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            bodies.append(body)
            lp = {"logprobs": {"top_logprobs": [{"5": -0.1, "6": -2.5}, {".": -0.2}]}} if "logprobs" in body else {}
            send_json(self, {"choices": [{"text": "5.", "finish_reason": "stop", "stop_reason": "\n\n", **lp}],
                             "usage": {"prompt_tokens": 4, "completion_tokens": 2}})

        def log_message(self, *a):
            pass

    srv = HTTPServer(("127.0.0.1", 0), _Completions)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        eng = OpenAIEngine(f"http://127.0.0.1:{srv.server_address[1]}", "m", concurrency=1, retries=0)
        out = eng.generate(["2+3=", "2+3="], [{"max_tokens": 8, "stop": ["\n\n"], "logprobs": 50}, {"max_tokens": 8}],
                           [11, 12])
    finally:
        srv.shutdown()
    assert [b["seed"] for b in bodies] == [11, 12] and bodies[0]["logprobs"] == 20 and "logprobs" not in bodies[1]
    assert out[0].stop_reason == "\n\n" and out[0].finish_reason == "stop" and out[0].completion_tokens == 2
    assert out[0].top_logprobs == [[("5", -0.1), ("6", -2.5)], [(".", -0.2)]]
    assert out[0].cumulative_logprob == pytest.approx(-0.3)
    assert out[1].top_logprobs is None and out[1].cumulative_logprob is None


def test_score_starts_the_policy_before_a_pooling_verifier_so_both_fit_on_the_gpu(registry):
    from infscale import score as S

    job = {"source": {"hf": "org/policy"}, "engine_cfg": {"device": "gpu", "args": {}},
           "verifiers": {"prm": {"kind": "pooling", "model": "org/prm"}, "j": {"kind": "judge"}}}
    scorers = S.make_scorers(job)
    assert list(scorers) == ["prm", "j"]
    assert [(m, r, a.get("gpu_memory_utilization")) for m, r, a in _Started.started] == \
        [("org/policy", "generate", 0.45), ("org/prm", "pooling", 0.45)]
