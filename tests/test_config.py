import copy
import subprocess
import sys

import pytest
import yaml

from conftest import ROOT
from infscale import config as C

DEMO = yaml.safe_load((ROOT / "config" / "demo.yaml").read_text())
PAPER = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())


def test_shipped_configs_validate():
    C.validate(DEMO)
    C.validate(PAPER)


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
