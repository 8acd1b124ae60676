"""SWE-bench (Lite) verifier: the model's patches -> the harness's predictions JSONL -> `swebench` harness runs ->
its report JSON -> verdicts, with majority voting over repeated runs for flaky instances.

Reference (problems.reference, a JSON object string): {"instance_id": ..., ...}; when absent the problem_id is the
instance id. The patch is extracted from the sample text (`extract_patch`): the first fenced ```diff / ```patch
block (or any fenced block that holds a diff), else the text from its first `diff --git` or `--- ` line.

The harness evaluates ONE prediction per instance per run, so the distinct patches of each instance are spread
over rounds: round r holds the r-th distinct patch of every instance that has one (identical patches run once).
Each round is run `runs` times (Monkeys App. B re-ran SWE-bench Lite 11 times and took the majority) with
`python -m swebench.harness.run_evaluation --dataset_name D --split S --predictions_path P --run_id R
--max_workers W --timeout T --cache_level C [--namespace N] --instance_ids ...`, in a work dir where the harness
writes its report `<model_name_or_path with / -> __>.<run_id>.json` (swebench/harness/reporting.py,
make_run_report: resolved_ids, unresolved_ids, error_ids, empty_patch_ids, incomplete_ids, completed_ids, ...).

Status per run: resolved -> correct, unresolved -> wrong, error -> runtime_error, empty patch -> no_answer,
not in the report -> verifier_error. Majority vote over the runs: correct when more than half the runs resolved
it; otherwise the most common other status (ties -> wrong).

The harness needs Docker (or a Docker-compatible runtime on the cluster); none exists on the development
machines, so the tests stop at the harness call. Options: verify.swebench.* (see SWE_DEFAULTS).
"""

from __future__ import annotations

import collections
import hashlib
import importlib.util
import json
import logging
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from .. import io
from .common import parse_reference, program_hash, verdict_frame, verdict_row

log = logging.getLogger(__name__)

SWE_DEFAULTS = {
    "dataset_name": "princeton-nlp/SWE-bench_Lite", "split": "test", "model_name": "infscale",
    "runs": 1, "max_workers": 4, "timeout_s": 1800, "cache_level": "env", "namespace": None,
    "work_dir": None, "python": None, "extra_args": [],
}
REPORT_STATUS = (("resolved_ids", "correct"), ("unresolved_ids", "wrong"), ("error_ids", "runtime_error"),
                 ("empty_patch_ids", "no_answer"))


class SwebenchUnavailable(RuntimeError):
    """The SWE-bench harness cannot run here (message is one line)."""


def swe_options(options: dict | None) -> dict:
    given = dict((options or {}).get("swebench", {}))
    bad = sorted(set(given) - set(SWE_DEFAULTS))
    if bad:
        raise ValueError(f"verify.swebench: unknown key(s) {', '.join(bad)}; allowed: {', '.join(sorted(SWE_DEFAULTS))}")
    opts = dict(SWE_DEFAULTS)
    opts.update(given)
    if int(opts["runs"]) < 1:
        raise ValueError(f"verify.swebench.runs = {opts['runs']} must be at least 1")
    return opts


# ---- patches --------------------------------------------------------------------------------------------------

_DIFF_START = re.compile(r"^(diff --git |--- (a/|/dev/null|\S))", re.M)


def extract_patch(text: str) -> str | None:
    """A unified diff from the sample text, ending in a newline, or None."""
    text = text or ""
    for m in re.finditer(r"```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n(.*?)(?:```|\Z)", text, re.S):
        lang, body = m.group(1).lower(), m.group(2)
        if lang in ("diff", "patch") or _DIFF_START.search(body):
            patch = _from_start(body)
            if patch:
                return patch
    return _from_start(text)


def _from_start(text: str) -> str | None:
    m = _DIFF_START.search(text)
    if not m:
        return None
    patch = text[m.start():]
    if "\n+++ " not in patch and not patch.startswith("+++ "):
        return None
    return patch.rstrip("\n") + "\n"


def prediction_rounds(problems: pd.DataFrame, samples: pd.DataFrame, model_name: str):
    """(rounds, members, empty): rounds[r] = list of prediction dicts (one per instance); members maps
    (instance_id, patch) -> sample row positions; empty = row positions whose text holds no patch."""
    ids = {}
    for pid, reference in zip(problems["problem_id"].astype(str), problems["reference"]):
        try:
            ids[pid] = str(parse_reference(reference, pid).get("instance_id", pid))
        except ValueError:
            ids[pid] = pid
    members: dict[tuple[str, str], list[int]] = {}
    empty: list[int] = []
    order: dict[str, list[str]] = collections.defaultdict(list)
    for i, (pid, text) in enumerate(zip(samples["problem_id"].astype(str), samples["text"])):
        patch = extract_patch(text if isinstance(text, str) else "")
        if patch is None:
            empty.append(i)
            continue
        iid = ids.get(pid, pid)
        key = (iid, patch)
        if key not in members:
            members[key] = []
            order[iid].append(patch)
        members[key].append(i)
    n_rounds = max((len(v) for v in order.values()), default=0)
    rounds = [[{"instance_id": iid, "model_name_or_path": model_name, "model_patch": patches[r]}
               for iid, patches in sorted(order.items()) if r < len(patches)] for r in range(n_rounds)]
    return rounds, members, empty


def write_predictions(predictions: list[dict], path: str | Path) -> None:
    io.write_text("".join(json.dumps(p, sort_keys=True) + "\n" for p in predictions), path)


# ---- harness --------------------------------------------------------------------------------------------------

def harness_command(predictions_path: str | Path, run_id: str, opts: dict, instance_ids: list[str]) -> list[str]:
    cmd = [opts["python"] or sys.executable, "-m", "swebench.harness.run_evaluation",
           "--dataset_name", str(opts["dataset_name"]), "--split", str(opts["split"]),
           "--predictions_path", str(predictions_path), "--run_id", run_id,
           "--max_workers", str(int(opts["max_workers"])), "--timeout", str(int(opts["timeout_s"])),
           "--cache_level", str(opts["cache_level"])]
    if opts["namespace"] is not None:
        cmd += ["--namespace", str(opts["namespace"])]
    cmd += [str(a) for a in opts["extra_args"]]
    if instance_ids:
        cmd += ["--instance_ids", *instance_ids]
    return cmd


def report_path(work_dir: str | Path, model_name: str, run_id: str) -> Path:
    return Path(work_dir) / f"{model_name.replace('/', '__')}.{run_id}.json"


def read_report(path: str | Path) -> dict[str, str]:
    """instance_id -> status from a harness report (schema of swebench/harness/reporting.py make_run_report)."""
    try:
        report = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"SWE-bench report {path} not found: the harness did not finish") from None
    except ValueError as e:
        raise ValueError(f"SWE-bench report {path} is not JSON ({e})") from None
    if not isinstance(report, dict) or "resolved_ids" not in report:
        raise ValueError(f"SWE-bench report {path} has no resolved_ids; not a run_evaluation report")
    out: dict[str, str] = {}
    for key, status in REPORT_STATUS:
        for iid in report.get(key, []) or []:
            out.setdefault(str(iid), status)
    return out


def majority_vote(runs: list[dict[str, str]], instance_id: str) -> tuple[str, str]:
    """(status, detail) of one instance over repeated harness runs."""
    statuses = [r.get(instance_id, "verifier_error") for r in runs]
    counts = collections.Counter(statuses)
    detail = ",".join(f"{s}:{c}" for s, c in sorted(counts.items()))
    if counts["correct"] * 2 > len(runs):
        return "correct", detail
    others = [(c, s) for s, c in counts.items() if s != "correct"]
    best = max(c for c, _ in others)
    top = sorted(s for c, s in others if c == best)
    return ("wrong" if len(top) > 1 or not top else top[0]), detail


def default_runner(cmd: list[str], cwd: Path, log_path: Path) -> int:
    if importlib.util.find_spec("swebench") is None and cmd[0] == sys.executable:
        raise SwebenchUnavailable("the 'swebench' package is not installed (pip install swebench) and Docker must be "
                                  "available; SWE-bench verification runs only where the harness can")
    with open(log_path, "ab") as logf:
        return subprocess.run(cmd, cwd=cwd, stdout=logf, stderr=subprocess.STDOUT).returncode


def verify(problems: pd.DataFrame, samples: pd.DataFrame, options: dict, threads: int,
           runner=None) -> pd.DataFrame:
    """Verdicts for SWE-bench patches. `runner(cmd, cwd, log_path) -> returncode` defaults to a subprocess call."""
    opts = swe_options(options)
    if threads and "max_workers" not in (options or {}).get("swebench", {}):
        opts["max_workers"] = int(threads)
    runner = runner or default_runner
    model = str(opts["model_name"])
    rounds, members, empty = prediction_rounds(problems, samples, model)
    rows: list[dict | None] = [None] * len(samples)
    for i in empty:
        rows[i] = verdict_row("no_answer", None, "swebench", 0.0, "harness")
    work = Path(opts["work_dir"]) if opts["work_dir"] else Path(tempfile.mkdtemp(prefix="infscale-swebench-"))
    work.mkdir(parents=True, exist_ok=True)
    results: dict[tuple[str, str], tuple[str, str, float]] = {}
    for r, preds in enumerate(rounds):
        digest = hashlib.blake2b(json.dumps(preds, sort_keys=True).encode(), digest_size=6).hexdigest()
        pred_path = work / f"predictions-{digest}.jsonl"
        write_predictions(preds, pred_path)
        ids = [p["instance_id"] for p in preds]
        reports = []
        t0 = time.perf_counter()
        for rep in range(int(opts["runs"])):
            run_id = f"infscale-{digest}-run{rep}"
            rpath = report_path(work, model, run_id)
            if not rpath.exists():  # a finished run is not repeated when the shard is re-verified
                rc = runner(harness_command(pred_path, run_id, opts, ids), work, work / f"{run_id}.log")
                if rc != 0:
                    log.warning("harness run %s exited %s (see %s)", run_id, rc, work / f"{run_id}.log")
            try:
                reports.append(read_report(rpath))
            except (FileNotFoundError, ValueError) as e:
                log.error("%s", e)
                reports.append({})
        per = (time.perf_counter() - t0) * 1000.0 / max(len(preds), 1)
        for p in preds:
            status, detail = majority_vote(reports, p["instance_id"])
            results[(p["instance_id"], p["model_patch"])] = (status, detail, per)
    for key, idx in members.items():
        status, detail, elapsed = results[key]
        row = verdict_row(status, program_hash(key[1]), "swebench", elapsed, "harness", detail)
        for i in idx:
            rows[i] = row
    return verdict_frame(samples, rows)
