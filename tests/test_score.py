"""The score stage: config and paths, the OpenAI-compatible judge against a real local HTTP server (step
aggregation last / min / prod), the policy-as-judge on the demo model through real vLLM on CPU, selection reporting
best_of_n and weighted per verifier, and the plan (selection reads the scored table only when scoring is on)."""

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import numpy as np
import pandas as pd
import pytest
import yaml

from infscale import config as C
from infscale import io
from infscale import layout as L
from infscale import score as S
from infscale.selection import run as run_selection
from workflow_helpers import ROOT, copy_workflow, planned_outputs, send_json, snakemake, write_config

# Step texts and the P(Yes) the local judge server gives the last step (by the word in it).
P_YES = {"good": 0.9, "fine": 0.6, "bad": 0.2}


def _tables(tmp_path):
    problems = pd.DataFrame({"problem_id": ["p1", "p2"], "question": ["What is 1+1?", "What is 2+2?"],
                             "domain": "math", "reference": ["2", "4"]})
    texts = {("p1", 0): "Step good.\n\nStep good.\n\n\\boxed{2}", ("p1", 1): "Step good.\n\nStep bad.\n\n\\boxed{3}",
             ("p1", 2): "Step fine.\n\nStep fine.\n\n\\boxed{3}", ("p2", 0): "Step good.\n\n\\boxed{4}",
             ("p2", 1): "Step bad.\n\n\\boxed{5}", ("p2", 2): ""}
    samples = pd.DataFrame({"problem_id": [k[0] for k in texts], "sample_index": [k[1] for k in texts],
                            "text": list(texts.values()), "prompt_tokens": 10, "completion_tokens": 10,
                            "finish_reason": "stop", "seed": 0})
    correct = [True, False, False, True, False, False]
    merged = pd.DataFrame({"problem_id": samples["problem_id"], "sample_index": samples["sample_index"],
                           "correct": correct, "status": ["correct" if c else "wrong" for c in correct],
                           "extracted": ["2", "3", "3", "4", "5", None], "prompt_tokens": 10,
                           "completion_tokens": 10})
    paths = {k: tmp_path / f"{k}.parquet" for k in ("problems", "samples", "merged")}
    for k, df in (("problems", problems), ("samples", samples), ("merged", merged)):
        io.write_parquet(df, paths[k])
    return paths, texts


class _Judge(BaseHTTPRequestHandler):
    """An OpenAI-compatible /v1/chat/completions that answers one token with top_logprobs: P(Yes) by the word in
    the last step of the prompt (as vLLM's server returns them: choices[0].logprobs.content[0].top_logprobs)."""

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        steps = body["messages"][0]["content"].split("Solution so far:\n")[1].split("\n\nIs the last step")[0]
        last = steps.split("\n\n")[-1]
        p = next((v for w, v in P_YES.items() if w in last), 0.5)
        top = [{"token": "Yes", "logprob": float(np.log(p))}, {"token": "No", "logprob": float(np.log(1 - p))}]
        out = {"choices": [{"message": {"content": "Yes"}, "logprobs": {"content": [{"token": "Yes",
                                                                                      "top_logprobs": top}]}}],
               "usage": {"prompt_tokens": 7, "completion_tokens": 1}}
        send_json(self, out)

    def log_message(self, *a):
        pass


@pytest.fixture
def judge_server():
    srv = HTTPServer(("127.0.0.1", 0), _Judge)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()


def test_verifiers_config_defaults_and_bad_kind():
    cfg = {"score": {"verifiers": {"j": {"kind": "judge"}, "o": {"kind": "openai", "model": "x", "base_url": "u",
                                                                 "aggregation": "min"}}}}
    v = S.verifiers(cfg)
    assert v["j"]["aggregation"] == "last" and v["j"]["separator"] == "\n\n" and v["o"]["aggregation"] == "min"
    assert S.verifiers({}) == {}
    with pytest.raises(ValueError, match="kind"):
        S.verifiers({"score": {"verifiers": {"x": {"kind": "oracle"}}}})


def test_schema_closes_the_score_section():
    base = yaml.safe_load((ROOT / "config" / "demo.yaml").read_text())
    ok = {**base, "score": {"verifiers": {"judge": {"kind": "judge", "aggregation": "prod"},
                                          "orm": {"kind": "pooling", "model": "m", "pooling_task": "classify"}}}}
    C.validate(ok)
    for bad in ({"judge": {"kind": "judge", "aggregation": "sum"}}, {"judge": {"kind": "judge", "typo": 1}},
                {"prm": {"kind": "pooling"}}, {"gpt": {"kind": "openai", "model": "m"}},
                {"orm": {"kind": "pooling", "model": "m", "pooling_task": "embed"}}):
        with pytest.raises(C.ConfigError):
            C.validate({**base, "score": {"verifiers": bad}})


def test_selection_reads_the_scored_table_only_when_scoring_is_configured():
    cfg = {"datasets": {"math": {"domain": "math"}, "code": {"domain": "code"}}}
    assert L.selection_input(cfg, "m", "math") == "results/merged/m/math.parquet"
    cfg["score"] = {"verifiers": {"judge": {"kind": "judge"}}}
    assert L.selection_input(cfg, "m", "math") == "results/scored/m/math.parquet"
    assert L.selection_input(cfg, "m", "code") == "results/merged/m/code.parquet"


# step scores per sample: the worded steps, then the boxed answer (no word: P(Yes) 0.5)
STEPS = [[0.9, 0.9, 0.5], [0.9, 0.2, 0.5], [0.6, 0.6, 0.5], [0.9, 0.5], [0.2, 0.5]]


@pytest.mark.parametrize("how,agg", [("last", lambda s: s[-1]), ("min", min), ("prod", np.prod)])
def test_openai_judge_rewards_with_step_aggregation(tmp_path, judge_server, how, agg):
    paths, _ = _tables(tmp_path)
    job = {"model": "m", "dataset": "d", "verifiers": S.verifiers({"score": {"verifiers": {"gpt": {
        "kind": "openai", "model": "judge", "base_url": judge_server, "aggregation": how}}}})}
    out = S.score(str(paths["problems"]), [str(paths["samples"])], str(paths["merged"]), str(tmp_path / "s.parquet"),
                  job)
    assert list(out.columns[:-1]) == list(io.read_parquet(paths["merged"]).columns)
    got = io.read_parquet(tmp_path / "s.parquet")["reward_gpt"].to_numpy()
    np.testing.assert_allclose(got[:5], [agg(s) for s in STEPS], atol=1e-9)
    assert np.isnan(got[5])   # an empty solution has no steps


def test_missing_text_is_one_clear_error(tmp_path, judge_server):
    paths, _ = _tables(tmp_path)
    io.write_parquet(io.read_parquet(paths["samples"]).iloc[:3], paths["samples"])
    job = {"model": "m", "dataset": "d", "verifiers": S.verifiers({"score": {"verifiers": {"gpt": {
        "kind": "openai", "model": "judge", "base_url": judge_server}}}})}
    with pytest.raises(ValueError, match="no text"):
        S.score(str(paths["problems"]), [str(paths["samples"])], str(paths["merged"]), str(tmp_path / "s.parquet"), job)
    assert not (tmp_path / "s.parquet").exists()


def test_policy_as_judge_on_cpu_then_selection_per_verifier(tmp_path, smollm2_checkpoint, judge_server):
    """The demo model judges its own steps through real vLLM; selection then reports best_of_n and weighted for
    each reward column (and the ensemble of the two)."""
    from infscale.engines import get_engine

    paths, _ = _tables(tmp_path)
    specs = S.verifiers({"score": {"verifiers": {
        "judge": {"kind": "judge", "logprobs": 20, "aggregation": "min"},
        "gpt": {"kind": "openai", "model": "judge", "base_url": judge_server}}}})
    engine = get_engine({"args": {"max_model_len": 2048}}, smollm2_checkpoint)   # the process's engine, shared
    scorers = S.make_scorers({"source": {"path": smollm2_checkpoint}, "engine_cfg": {"args": {"max_model_len": 2048}},
                              "verifiers": specs})
    assert scorers["judge"].engine is engine
    out_path = tmp_path / "scored.parquet"
    S.score(str(paths["problems"]), [str(paths["samples"])], str(paths["merged"]), str(out_path),
            {"model": "m", "dataset": "d", "verifiers": specs}, scorers=scorers)
    scored = io.read_parquet(out_path)
    r = scored["reward_judge"].to_numpy()
    assert np.all((r[:5] > 0) & (r[:5] < 1)) and np.isnan(r[5]) and len(set(np.round(r[:5], 6))) > 1
    curve = tmp_path / "sel.csv"
    run_selection(str(out_path), str(curve), [1, 2], trials=20, seed=0)
    t = pd.read_csv(curve)
    got = {(m, v) for m, v in zip(t["method"], t["verifier"])}
    assert {("best_of_n", "judge"), ("weighted", "judge"), ("best_of_n", "gpt"), ("weighted", "gpt")} <= got


def test_plan_schedules_score_before_selection_only_when_configured(tmp_path):
    wd = copy_workflow(tmp_path / "wf")
    cfg = yaml.safe_load((ROOT / "config" / "demo.yaml").read_text())
    target = "results/analysis/selection/{m}/{d}.csv"
    m, d = next((m, d) for m, d in C.pairs(cfg) if cfg["datasets"][d]["domain"] == "math")
    off = write_config(wd, cfg, "off.yaml")
    r = snakemake(wd, target.format(m=m, d=d), "-n", "--configfile", str(off))
    assert not any("scored" in p for p in planned_outputs(r.stdout))
    cfg["score"] = {"verifiers": {"judge": {"kind": "judge"}}}
    on = write_config(wd, cfg, "on.yaml")
    r = snakemake(wd, target.format(m=m, d=d), "-n", "--configfile", str(on))
    assert f"results/scored/{m}/{d}.parquet" in planned_outputs(r.stdout)


def test_cli_score_without_verifiers_is_one_clear_line():
    from infscale.__main__ import main
    with pytest.raises(SystemExit) as e:
        main(["score", "--config", str(ROOT / "config" / "demo.yaml"), "--model", "smollm2-135m", "--dataset", "gsm8k"])
    assert str(e.value.code).startswith("infscale: ") and "no score.verifiers" in str(e.value.code)
