import copy
import subprocess
import sys

import pytest
import yaml

from conftest import ROOT
from infscale import config as C

DEMO = C.load(ROOT / "config" / "demo.yaml")  # validated: the schema's defaults filled in
PAPER = C.load(ROOT / "config" / "config.yaml")


def _raw(name="demo.yaml"):
    return yaml.safe_load((ROOT / "config" / name).read_text())


def test_shipped_configs_validate():
    for name in ("demo.yaml", "config.yaml", "release.yaml"):
        cfg = _raw(name)
        C.validate(cfg)
        filled = copy.deepcopy(cfg)
        C.validate(filled)  # a filled config is valid, and filling it again changes nothing
        assert filled == cfg == C.fill_defaults(copy.deepcopy(cfg))


@pytest.mark.parametrize("mutate, needle", [
    (lambda c: c["datasets"]["gsm8k"].__setitem__("sampling", {"temprature": 0.5}),
     "'datasets.gsm8k.sampling.temprature' is not allowed here; allowed: max_tokens, stop, temperature, top_k, top_p"),
    (lambda c: c.__setitem__("modles", {}), "'modles' is not allowed"),
    (lambda c: c["datasets"]["gsm8k"].__setitem__("domain", "poetry"), "'datasets.gsm8k.domain' = 'poetry' is not allowed; allowed: math"),
    (lambda c: c["datasets"]["gsm8k"].__setitem__("samples", 20), "must be a multiple of samples_per_shard"),
    (lambda c: c["models"]["smollm2-135m"].__setitem__("datasets", ["gsm9k"]), "unknown dataset 'gsm9k'"),
    (lambda c: c["models"]["smollm2-135m"]["source"].__setitem__("hf", "x/y"), "must have exactly one of"),
    (lambda c: c["datasets"]["gsm8k"]["subset"].__setitem__("n", 0), "'datasets.gsm8k.subset.n'"),
    # the dataset's verifier mapping is closed: an unknown key (a typo, or a name from another tool) stops the run
    (lambda c: c["datasets"]["gsm8k"].__setitem__("verifier", {"tolerance": 0.01}),
     "'datasets.gsm8k.verifier.tolerance' is not allowed here; allowed: abs_tol, cache, code, extraction, lean4, "
     "rel_tol, sandbox, swebench, timeout_s"),
    (lambda c: c["datasets"]["gsm8k"].__setitem__("verifier", {"extraction": "loose"}),
     "'datasets.gsm8k.verifier.extraction' = 'loose' is not allowed; allowed: strict, lenient"),
    (lambda c: c["datasets"]["gsm8k"].__setitem__("verifier", {"rel_tol": -1}), "'datasets.gsm8k.verifier.rel_tol'"),
    (lambda c: c["datasets"]["gsm8k"].__setitem__("verifier", {"sandbox": {"isolaton": "none"}}),
     "'datasets.gsm8k.verifier.sandbox.isolaton' is not allowed"),
    # fixed few-shot examples without `ids` used to give zero shots silently
    (lambda c: c["datasets"]["math500"]["prompt"]["fewshot"].pop("ids"),
     "'datasets.math500.prompt.fewshot' is missing a required entry: 'ids'"),
])
def test_bad_config_gives_one_line_naming_the_key(mutate, needle):
    cfg = copy.deepcopy(DEMO)
    mutate(cfg)
    with pytest.raises(C.ConfigError) as e:
        C.validate(cfg)
    msg = str(e.value)
    assert needle in msg
    assert "\n" not in msg


def test_verifier_keys_validate_and_reach_the_verifier():
    cfg = copy.deepcopy(DEMO)
    cfg["datasets"]["gsm8k"]["verifier"] = {"extraction": "lenient", "rel_tol": 1e-3, "abs_tol": 0.01,
                                            "timeout_s": 2, "cache": False}
    C.validate(cfg)
    opts = C.verify_options(cfg, "gsm8k")
    assert opts["extraction"] == "lenient" and opts["rel_tol"] == 1e-3 and opts["style"] == "gsm8k"
    assert C.lenient_extraction(cfg, "gsm8k") and not C.lenient_extraction(cfg, "math500")
    assert C.verify_options(cfg, "math500")["style"] == "minerva"


def test_lookups_use_only_own_entries():
    cfg = copy.deepcopy(DEMO)
    before = C.generate_job(cfg, "smollm2-135m", "gsm8k")
    cfg["models"]["new-model"] = {"source": {"hf": "org/new"}, "sampling": {"temperature": 0.1}}
    assert C.generate_job(cfg, "smollm2-135m", "gsm8k") == before
    assert C.sampling(cfg, "smollm2-135m-t1", "gsm8k")["temperature"] == 1.0
    assert C.sampling(cfg, "smollm2-135m", "gsm8k")["temperature"] == 0.7
    assert C.shards(cfg, "gsm8k") == [0, 1]


def test_snakemake_refuses_bad_config_with_one_line_and_writes_nothing(tmp_path):
    bad = copy.deepcopy(DEMO)
    bad["datasets"]["gsm8k"]["fields"]["questoin"] = "question"
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(bad))
    before = sorted(p for p in (ROOT / "results").rglob("*"))
    r = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--configfile", str(path)], cwd=ROOT,
                       capture_output=True, text=True)
    assert r.returncode != 0
    lines = [ln for ln in (r.stdout + r.stderr).splitlines() if ln.startswith("infscale:")]
    assert lines == ["infscale: config key 'datasets.gsm8k.fields.questoin' is not allowed here; "
                     "allowed: metadata, problem_id, question, reference"]
    assert sorted(p for p in (ROOT / "results").rglob("*")) == before


def test_one_shape_key_for_plan_and_flops():
    cfg = copy.deepcopy(DEMO)
    # GGUF models read their shape from the converted checkpoint; Hub models need models.<m>.shape
    assert C.checkpoint_dir(cfg, "smollm2-135m") == "results/models/SmolLM2-135M-Instruct.Q4_1"
    assert C.model_config_json(cfg, "smollm2-135m") == "results/models/SmolLM2-135M-Instruct.Q4_1"
    assert C.has_flops(cfg, "smollm2-135m", "gsm8k")
    cfg["models"]["hub"] = {"source": {"hf": "org/hub"}}
    assert not C.has_flops(cfg, "hub") and C.model_config_json(cfg, "hub") is None and C.shape_entry(cfg, "hub") == {}
    cfg["models"]["hub"]["shape"] = {"n_params": 8e9, "n_layers": 32, "d_model": 4096}
    C.validate(cfg)
    assert C.has_flops(cfg, "hub") and C.model_config_json(cfg, "hub") is None
    cfg["models"]["hub"]["shape"] = {"config_json": "cfg/hub.json", "n_params": 1e9}
    assert C.model_config_json(cfg, "hub") == "cfg/hub.json" and C.shape_entry(cfg, "hub")["n_params"] == 1e9
    # every model of the paper plan has its shape under the one key
    assert all(C.has_flops(PAPER, m, d) for m, d in C.pairs(PAPER))
    assert "analysis" not in PAPER or "models" not in PAPER["analysis"]


@pytest.mark.parametrize("shape, needle", [
    ({"n_params": 8e9}, "'models.hub.shape' needs n_params, n_layers, d_model or config_json"),
    ({"n_layers": 32}, "'models.hub.shape'"),
    ({"n_params": 8e9, "n_layers": 32, "d_model": 4096, "layers": 3}, "'models.hub.shape.layers' is not allowed"),
])
def test_incomplete_shape_is_one_line(shape, needle):
    cfg = copy.deepcopy(DEMO)
    cfg["models"]["hub"] = {"source": {"hf": "org/hub"}, "shape": shape}
    with pytest.raises(C.ConfigError) as e:
        C.validate(cfg)
    assert needle in str(e.value) and "\n" not in str(e.value)


def test_analysis_models_is_gone():
    cfg = copy.deepcopy(DEMO)
    cfg["analysis"] = {"models": {"smollm2-135m": {"config_json": "x.json"}}}
    with pytest.raises(C.ConfigError, match="'analysis.models' is not allowed here"):
        C.validate(cfg)


def test_family_and_price_lookups():
    assert C.family(PAPER, "pythia-1b") == "pythia"
    cfg = copy.deepcopy(PAPER)
    del cfg["models"]["gemma-2b"]["family"]
    assert C.family(cfg, "gemma-2b") == "gemma-2b"   # no family: its own table
    assert C.family_models(cfg, "gemma-2b", "math") == ["gemma-2b"]
    assert C.families(cfg, "math") == ["gemma-2b", "llama-3", "pythia"]
    assert C.families(PAPER, "code_contests") == ["deepseek-coder-v2", "llama-3"]
    assert C.family_models(PAPER, "llama-3", "math") == ["llama-3-8b-instruct", "llama-3-70b-instruct"]
    assert C.has_price(PAPER, "llama-3-8b-instruct") and not C.has_price(PAPER, "gemma-2b")


# ---- schema defaults (config/schema.yaml is their one home) --------------------------------------------------

def _minimal():
    return {"models": {"m": {"source": {"hf": "org/m"}}},
            "datasets": {"d": {"source": {"path": "d.jsonl"}, "domain": "math"}}}


def test_defaults_come_from_the_schema_when_unset():
    cfg = _minimal()
    C.validate(cfg)
    assert C.sampling(cfg, "m", "d") == {"temperature": 0.6, "top_p": 1.0, "max_tokens": 512}
    assert C.samples(cfg, "d") == C.samples_per_shard(cfg, "d") == 100 and C.shards(cfg, "d") == [0]
    assert C.gpus(cfg, "m") == 1 and C.verify_threads(cfg) == 2
    eng = C.engine(cfg, "m")
    assert eng == {"kind": "vllm", "device": "auto", "args": {}, "cpu_kvcache_gib": 2}
    opts = C.verify_options(cfg, "d")
    assert opts["cache"] is True and opts["extraction"] == "strict" and opts["timeout_s"] == 5
    assert opts["style"] == "plain" and opts["sandbox"]["isolation"] == "bwrap" and "threads" not in opts
    assert cfg["analysis"]["selection"] == {"trials": 100, "seed": 0}
    assert cfg["analysis"]["allocate"] == {"cost": "flops_v3", "bins": 5}
    assert cfg["datasets"]["d"]["fields"] == {"problem_id": None, "question": "question", "reference": "answer",
                                              "metadata": []}
    # a mapping that needs entries of its own is not made up: no search, no score, no adaptive policy
    assert "search" not in cfg and "score" not in cfg and C.adaptive(cfg, "d") is None


def test_an_explicit_value_wins_over_the_schema_default():
    cfg = _minimal()
    cfg["defaults"] = {"sampling": {"temperature": 0.9}, "samples": 200}
    cfg["verify"] = {"threads": 8, "cache": False}
    cfg["models"]["m"]["tensor_parallel"] = 4
    C.validate(cfg)
    assert C.sampling(cfg, "m", "d") == {"temperature": 0.9, "top_p": 1.0, "max_tokens": 512}
    assert C.samples(cfg, "d") == 200 and C.gpus(cfg, "m") == 4 and C.verify_threads(cfg) == 8
    assert C.engine(cfg, "m")["args"] == {"tensor_parallel_size": 4}
    assert C.verify_options(cfg, "d")["cache"] is False


def test_an_unset_override_layer_does_not_mask_the_base():
    cfg = _minimal()
    cfg["defaults"] = {"sampling": {"temperature": 0.8, "max_tokens": 64}, "samples": 40, "samples_per_shard": 20}
    cfg["verify"] = {"cache": False}
    C.validate(cfg)
    # the override layers stay unset (no schema default there), so the base reaches the lookups
    assert "sampling" not in cfg["datasets"]["d"] and "sampling" not in cfg["models"]["m"]
    assert "samples" not in cfg["datasets"]["d"] and "cache" not in cfg["datasets"]["d"]["verifier"]
    assert C.sampling(cfg, "m", "d")["temperature"] == 0.8 and C.samples(cfg, "d") == 40
    assert C.verify_options(cfg, "d")["cache"] is False
    # and each layer still wins over the one below it
    cfg["datasets"]["d"]["sampling"] = {"temperature": 0.5}
    cfg["datasets"]["d"]["verifier"]["cache"] = True
    assert C.sampling(cfg, "m", "d")["temperature"] == 0.5 and C.verify_options(cfg, "d")["cache"] is True
    cfg["models"]["m"]["sampling"] = {"temperature": 0.1}
    assert C.sampling(cfg, "m", "d") == {"temperature": 0.1, "top_p": 1.0, "max_tokens": 64}


@pytest.mark.parametrize("path", [
    ("datasets", "*", "sampling"), ("models", "*", "sampling"), ("datasets", "*", "samples"),
    ("datasets", "*", "samples_per_shard"), ("datasets", "*", "verifier", "cache"),
    ("datasets", "*", "verifier", "sandbox"), ("datasets", "*", "verifier", "code"),
    ("datasets", "*", "verifier", "lean4"), ("datasets", "*", "verifier", "swebench"), ("models", "*", "engine"),
])
def test_override_layers_carry_no_default(path):
    assert C.schema_default(*path) is None


def test_verify_cache_is_accepted_at_both_layers_and_read():
    from infscale.verify.math import options_of

    cfg = copy.deepcopy(DEMO)
    cfg["verify"]["cache"] = False
    C.validate(cfg)
    assert options_of(C.verify_options(cfg, "gsm8k"))["cache"] is False
    cfg["datasets"]["gsm8k"]["verifier"]["cache"] = True
    C.validate(cfg)
    assert options_of(C.verify_options(cfg, "gsm8k"))["cache"] is True
    # a hand-built options mapping gets the schema's defaults
    assert options_of({}) == {"cache": True, "lenient": False, "style": None, "rel_tol": None, "abs_tol": None,
                              "timeout_s": 5}


def test_library_keyword_defaults_are_the_schema_defaults():
    """Library functions also called without a config keep keyword defaults; each is the schema's, so the two
    cannot drift apart."""
    import dataclasses
    import inspect

    from infscale import adaptive, allocate, backtest, coverage, engines, fit, selection
    from infscale.verify import code, lean4, sandbox, swebench
    from infscale.verify import math as vmath

    def kw(fn, *names):
        params = inspect.signature(fn).parameters
        return {n: params[n].default for n in names}

    assert dataclasses.asdict(sandbox.Limits()) == C.schema_default("verify", "sandbox", "limits")
    assert sandbox.DEFAULT_ISOLATION == C.schema_default("verify", "sandbox", "isolation")
    assert code.CODE_DEFAULTS == C.schema_default("verify", "code")
    # elan_home (from $ELAN_HOME or ~/.elan), swebench's namespace, work_dir, python (unset) and max_workers (the
    # job's threads) have no fixed default
    assert {k: v for k, v in lean4.LEAN_DEFAULTS.items() if k != "elan_home"} == C.schema_default("verify", "lean4")
    swe = {k: v for k, v in swebench.SWE_DEFAULTS.items() if k not in ("namespace", "work_dir", "python", "max_workers")}
    assert swe == C.schema_default("verify", "swebench")
    assert vmath.DEFAULT_TIMEOUT_S == C.schema_default("datasets", "*", "verifier", "timeout_s")
    boot = C.schema_default("analysis", "bootstrap")
    assert (coverage.N_BOOT, coverage.LEVEL) == (boot["n"], boot["level"])
    for fn in (coverage.write_coverage, coverage.coverage_table, coverage.realized_table, coverage.bootstrap_ci):
        assert kw(fn, "n_boot", "level", "seed") == {"n_boot": boot["n"], "level": boot["level"], "seed": boot["seed"]}
    sel = C.schema_default("analysis", "selection")
    assert kw(selection.selection_curve, "trials", "seed") == kw(selection.run, "trials", "seed") == sel
    alloc = C.schema_default("analysis", "allocate")
    assert kw(allocate.run, "cost_column", "n_bins") == {"cost_column": alloc["cost"], "n_bins": alloc["bins"]}
    assert kw(allocate.difficulty_bins, "n_bins") == {"n_bins": alloc["bins"]}
    assert kw(adaptive.write_next_shard, "solved")["solved"] == C.schema_default("datasets", "*", "adaptive", "solved")
    assert kw(fit.write_fits, "n_boot", "level", "seed") == C.schema_default("analysis", "forecast")
    bt = C.schema_default("analysis", "backtest")
    assert kw(backtest.write_backtest, "ms", "repeats", "seed") == {**bt, "ms": tuple(bt["ms"])}
    eng = C.schema_default("engine")
    assert kw(engines.VLLMEngine.__init__, "device", "cpu_kvcache_gib") == {k: eng[k] for k in ("device", "cpu_kvcache_gib")}
    oa = C.schema_default("models", "*", "source", "openai")
    assert kw(engines.OpenAIEngine.__init__, "concurrency", "retries", "timeout_s") == {
        k: oa[k] for k in ("concurrency", "retries", "timeout_s")}


def test_verify_threads_is_the_verify_shard_threads():
    text = (ROOT / "workflow" / "rules" / "verify.smk").read_text()
    assert "threads: infscale_config.verify_threads(config)" in text
    assert C.verify_threads(DEMO) == DEMO["verify"]["threads"]
