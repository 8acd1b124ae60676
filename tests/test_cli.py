"""`python -m infscale <stage>`: one stage per rule, run by hand on synthetic merged tables with the rules' paths
and params (infscale.layout), and the one-line error path."""

import os

import pandas as pd
import pytest
import yaml

from infscale import layout as L
from infscale.__main__ import RULES, STAGES, main
from analysis_synth import write_workspace
from rules_parse import TARGET_ONLY, rule_scripts
from workflow_helpers import ROOT


def test_every_rule_has_a_stage():
    rules = set(rule_scripts()) - TARGET_ONLY
    assert set(RULES) == rules
    assert set(RULES.values()) == set(STAGES)  # and every stage is some rule's


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    cfg = write_workspace(root, n_problems=12, n=32)
    cfg["analysis"]["bootstrap"] = {"n": 50}
    (root / "config.yaml").write_text(yaml.safe_dump(cfg))
    here = os.getcwd()
    os.chdir(root)
    yield root, cfg
    os.chdir(here)


def _run(*args):
    main([*args, "--config", "config.yaml"])


def test_analysis_stages_by_hand(ws):
    root, cfg = ws
    for m in cfg["models"]:
        for stage in ("coverage", "fit", "flops", "cost", "selection", "export", "adaptive"):
            _run(stage, "--model", m, "--dataset", "toy")
    w = {"model": "small", "dataset": "toy"}
    for t in (L.COVERAGE, L.PROBLEM_COUNTS, L.FIT, L.FORECAST, L.FLOPS, L.FLOPS_PROBLEMS, L.COST, L.SELECTION,
              L.SELECTION_GAP, L.VERIFIERS, L.EXPORT, L.ADAPTIVE_SIM):
        assert (root / t.format(**w)).stat().st_size > 0, t
    cov = pd.read_csv(root / L.COVERAGE.format(**w))
    assert len(cov) == 32 and (cov["ci_low"] <= cov["coverage"] + 1e-12).all()
    _run("matched", "--family", "tiny", "--dataset", "toy")
    _run("allocate", "--dataset", "toy")
    _run("report", "--dataset", "toy")
    matched = pd.read_csv(root / L.MATCHED.format(family="tiny", dataset="toy"))
    assert set(matched["model"]) == {"small", "big"}
    assert (root / L.ALLOCATE.format(dataset="toy")).exists()
    for f in L.report_outputs("toy").values():
        assert (root / f).stat().st_size > 0, f


def test_stage_errors_are_one_line(ws):
    with pytest.raises(SystemExit) as e:
        _run("coverage", "--dataset", "toy")
    assert str(e.value.code) == "infscale: stage coverage needs --model"
    with pytest.raises(SystemExit) as e:
        _run("coverage", "--model", "small", "--dataset", "nope")
    assert str(e.value.code).startswith("infscale: unknown dataset 'nope'")
    with pytest.raises(SystemExit) as e:
        _run("fit", "--model", "small", "--dataset", "toy", "--out", "x.csv")
    assert "--out is for stages with one output" in str(e.value.code)
    with pytest.raises(SystemExit) as e:
        main([])
    assert e.value.code == 2


def test_missing_input_is_one_line_and_exit_1(tmp_path):
    """(was `python -m infscale.analysis fit missing.csv` → exit 1)"""
    cfg = write_workspace(tmp_path, models=("small",))
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg))
    (tmp_path / "results/merged/small/toy.parquet").unlink()
    here = os.getcwd()
    os.chdir(tmp_path)
    try:
        with pytest.raises(SystemExit) as e:
            _run("coverage", "--model", "small", "--dataset", "toy", "--log", "c.log")
    finally:
        os.chdir(here)
    assert str(e.value.code).startswith("infscale: file not found: ") and "merged/small/toy" in str(e.value.code)
    assert not (tmp_path / L.COVERAGE.format(model="small", dataset="toy")).exists()
    assert "file not found" in (tmp_path / "c.log").read_text()


def test_a_known_error_is_exactly_one_terminal_line(tmp_path):
    """A hand run with a bad argument prints the one `infscale:` line and nothing else (no logged copy of it)."""
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "infscale", "coverage", "--config", str(ROOT / "config" / "demo.yaml"),
                        "--model", "nope", "--dataset", "gsm8k"], capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 1 and r.stdout == ""
    cfg = ROOT / "config" / "demo.yaml"
    assert r.stderr.splitlines() == [f"infscale: unknown model 'nope' in {cfg}; known: smollm2-135m, smollm2-135m-t1"]
