"""The report end to end: a real Snakemake run of the analysis and report rules on synthetic merged tables, then
`snakemake --report`, then the page opened in real headless Chromium, clicked through like a user, and each
figure checked to have decoded as an image. Chromium missing is a failure, not a skip (envs/apt-test.txt: chromium)."""
import html
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from analysis_synth import write_workspace

REPO = Path(__file__).resolve().parents[1]
FIGURES = {"coverage vs k": "coverage.png", "pass^k and coverage at cost": "measures.png",
           "coverage vs FLOPs": "flops.png", "cost-matched": "cost.png",
           "selection": "selection.png", "allocation": "allocate.png",
           "verification gap": "gap.png"}

SNAKEFILE = f"""\
import sys
configfile: "config.yaml"
include: {str(REPO / 'workflow/rules/common.smk')!r}
include: {str(REPO / 'workflow/rules/coverage.smk')!r}
include: {str(REPO / 'workflow/rules/fit.smk')!r}
include: {str(REPO / 'workflow/rules/score.smk')!r}
include: {str(REPO / 'workflow/rules/analysis.smk')!r}
include: {str(REPO / 'workflow/rules/report.smk')!r}
rule all:
    input: analysis_targets(), report_targets()
"""


def _snakemake(wd, *args):
    r = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "2", *args], cwd=wd, capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return r.stdout + r.stderr


@pytest.fixture(scope="module")
def workflow_dir(tmp_path_factory):
    wd = tmp_path_factory.mktemp("wf")
    cfg = write_workspace(wd)
    (wd / "config.yaml").write_text(yaml.safe_dump(cfg))
    (wd / "Snakefile").write_text(SNAKEFILE)
    _snakemake(wd)
    return wd


def test_workflow_outputs_and_rerun_is_noop(workflow_dir):
    wd = workflow_dir
    for f in FIGURES.values():
        assert (wd / "results/report/toy" / f).stat().st_size > 5000
    fits = pd.read_csv(wd / "results/report/toy/fits.csv")
    assert set(fits["model"]) == {"small", "big"} and (fits["a"] < 0).all()
    alloc = pd.read_csv(wd / "results/analysis/allocate/toy.csv")
    assert {"allocated", "single:small", "single:big"} == set(alloc["strategy"])
    # the family's FLOPs- and dollar-matched table and its report figure (both models have a config.json and a price)
    mt = pd.read_csv(wd / "results/analysis/matched/tiny/toy.csv")
    assert list(mt.columns[:6]) == ["unit", "budget", "model", "coverage", "winner", "models_at_budget"]
    assert set(mt["unit"]) == {"flops", "dollars"} and set(mt["model"]) == {"small", "big"}
    assert (wd / "results/analysis/matched/tiny/toy.png").stat().st_size > 5000
    lines = (wd / "results/analysis/export/big/toy.jsonl").read_text().splitlines()
    assert lines and all(json.loads(x)["messages"][1]["role"] == "assistant" for x in lines)
    out = _snakemake(wd, "-n")
    assert "Nothing to be done" in out


def test_report_page_shows_every_figure_in_chromium(workflow_dir, tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "chromium is not installed (Debian package `chromium`, listed in envs/apt-test.txt)"
    wd = workflow_dir
    _snakemake(wd, "--report", "report.html")
    page = wd / "report.html"
    assert page.stat().st_size > 100_000
    shutil.copy(REPO / "tests/data/report_probe.html", wd / "probe.html")
    r = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                        "--disable-background-networking", "--disable-component-update", "--disable-sync",
                        f"--user-data-dir={tmp_path / 'profile'}", "--allow-file-access-from-files",
                        "--virtual-time-budget=60000", "--dump-dom", (wd / "probe.html").as_uri()],
                       capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stderr[-2000:]
    m = re.search(r'<pre id="out">(.*?)</pre>', r.stdout, re.S)
    assert m, "probe page did not render"
    text = html.unescape(m.group(1))
    assert text != "pending", "report page did not finish loading in Chromium"
    seen = json.loads(text)
    for sub, fname in FIGURES.items():
        entry = seen[sub]
        assert all(entry["steps"]), f"could not navigate to {sub}: {entry}"
        assert entry["file"] == f"results/report/toy/{fname}"
        imgs = [i for i in entry["imgs"] if i[0] == fname]
        assert imgs and imgs[0][1] > 300 and imgs[0][2] > 200, f"{fname} not displayed: {entry}"


def test_a_model_keeps_its_colour_in_every_figure():
    from infscale.report import model_colours

    on_dataset = ["small", "big", "gemma-2b"]
    page = model_colours(on_dataset, on_dataset)  # the dataset's report page
    family = model_colours(["small"], on_dataset)  # a family's matched figure, or a figure with one model
    assert family["small"] == page["small"] and model_colours(["big", "small"], on_dataset)["big"] == page["big"]
    assert len(set(page.values())) == 3
    assert len(set(model_colours([f"m{i}" for i in range(12)]).values())) == 12
