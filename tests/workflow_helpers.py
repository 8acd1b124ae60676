"""Running the real Snakefile in a throwaway copy of the repository (shared by the workflow-level tests)."""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
PARTS = ["Snakefile", "workflow", "config", "resources", "profiles", "envs"]


def copy_workflow(dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for part in PARTS:
        src = ROOT / part
        if src.is_dir():
            shutil.copytree(src, dest / part, ignore=shutil.ignore_patterns("__pycache__"))
        elif src.exists():
            shutil.copy2(src, dest / part)
    return dest


def write_config(dest: Path, cfg: dict, name: str = "test.yaml") -> Path:
    path = dest / "config" / name
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def snakemake(workdir: Path, *args: str, check: bool = True, timeout: int = 1800) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "snakemake", "--cores", "2", *args]
    r = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stdout[-4000:]}\n{r.stderr[-8000:]}")
    return r


def job_counts(output: str) -> dict[str, int]:
    """The 'Job stats' table of a (dry) run as {rule: count}; {} when there is nothing to be done."""
    counts: dict[str, int] = {}
    lines = output.splitlines()
    if "Job stats:" not in lines:
        return counts
    for line in lines[lines.index("Job stats:") + 3:]:
        m = re.match(r"^(\S+)\s+(\d+)$", line.strip())
        if not m or m.group(1) == "total":
            break
        counts[m.group(1)] = int(m.group(2))
    return counts


def planned_outputs(output: str) -> list[str]:
    """Every output path of every job a (dry) run plans."""
    return [p for line in re.findall(r"^\s+output: (.+)$", output, flags=re.M) for p in line.split(", ")]


def tiny_config(base: dict) -> dict:
    """The demo config shrunk for tests: one model, 4 problems per dataset, 8 samples in 2 shards, short answers."""
    cfg = copy.deepcopy(base)
    cfg["models"] = {"smollm2-135m": cfg["models"]["smollm2-135m"]}
    cfg["defaults"] = {"samples": 8, "samples_per_shard": 4,
                       "sampling": {"temperature": 0.7, "top_p": 1.0, "max_tokens": 48}}
    for ds in cfg["datasets"].values():
        ds["subset"] = {"n": 4, "seed": 0}
    return cfg


def send_json(handler, obj: dict) -> None:
    """A 200 JSON reply from a test HTTP server (the fake OpenAI-compatible endpoints)."""
    import json

    data = json.dumps(obj).encode()
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)
