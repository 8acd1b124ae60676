"""Lean 4 verifier (MiniF2F-MATH): build the theorem file, check it with Lean 4 + Mathlib, parse Lean's messages.

Reference (problems.reference, a JSON object string)::

    {"header": "import Mathlib\\n...\\n", "formal_statement": "theorem mathd_... : ... := by sorry", "name": ...}

(the fields of resources/data/minif2f_lean4/test_mathd.jsonl). The sample text is the generated proof: the first fenced block when
there is one, else the whole text. Two shapes are accepted:

- a tactic proof that continues the statement (what follows `:= by`): the statement's trailing `sorry` is
  replaced by the proof, dedented and indented by two spaces on the following lines (a leading `by` is dropped
  when the statement already ends in `by sorry`);
- a whole theorem (`theorem <name> ...`): used as is, but only if it starts with the given statement up to its
  `sorry` (whitespace-insensitive); otherwise the verdict is `wrong` ("statement changed").

A proof that contains `sorry`, `admit` or declares an `axiom` is `wrong` without running Lean. Otherwise the file is
checked with `lake env lean --json FILE` in a Mathlib project (verify.lean4.project_dir), inside the bubblewrap
sandbox (the elan home and the project are bound read-only), and Lean's messages decide: any error, or the warning
"declaration uses 'sorry'", is `wrong`; an error inside the fixed header is `verifier_error` (a broken toolchain,
not the sample's fault); otherwise `correct`. Timeouts and memory limits get their statuses.

Lean's message formats, both parsed (`parse_messages`): the command-line text form
`FILE:LINE:COL: error: MESSAGE` (continuation lines belong to the message above), `lean --json` (one JSON object per
line with severity, pos {line, column}, data) and the Lean REPL's response ({"messages": [...], "sorries": [...]}).

Lean and Mathlib are not installable on the development machines: the toolchain is only inside the container
envs/verify-lean4.def. Without it, `verify` raises LeanUnavailable with one line.

Options (verify.lean4.*): project_dir, elan_home, timeout_s, memory_mb, nproc, use_sandbox.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import shutil
import textwrap
from pathlib import Path

import pandas as pd

from .common import first_fenced_block, parse_reference, program_hash, run_distinct, verdict_frame, verdict_row
from .sandbox import DEFAULT_ISOLATION, Limits, RunResult, Sandbox

log = logging.getLogger(__name__)

LEAN_DEFAULTS = {"project_dir": "/opt/mathlib-project", "elan_home": None, "timeout_s": 300.0, "memory_mb": 32768,
                 "nproc": 512, "use_sandbox": True}
_FORBIDDEN = re.compile(r"\b(sorry|admit)\b|^\s*axiom\b", re.M)
_SORRY_WARNING = "declaration uses 'sorry'"
# FILE:LINE:COL: severity: message   (newer Lean may put an error name in parentheses after the severity)
_TEXT_MSG = re.compile(r"^(?P<file>[^\n]*?):(?P<line>\d+):(?P<col>\d+): (?P<sev>error|warning|info|information)"
                       r"(?:\([^)\n]*\))?: ?(?P<msg>.*)$")


class LeanUnavailable(RuntimeError):
    """No Lean 4 toolchain / Mathlib project here (message is one line)."""


@dataclasses.dataclass(frozen=True)
class Message:
    severity: str  # error | warning | info
    line: int
    column: int
    text: str


# ---- building the file ---------------------------------------------------------------------------------------

def extract_proof(text: str) -> str | None:
    block = first_fenced_block(text)
    proof = block[1] if block is not None else (text or "")
    return proof if proof.strip() else None


def _squash(s: str) -> str:
    return re.sub(r"\s+", " ", s).strip()


def build_theorem_file(header: str, formal_statement: str, proof: str) -> tuple[str | None, str]:
    """(file text, "") or (None, reason) when the proof rewrites the statement."""
    stmt = formal_statement.rstrip()
    m = re.search(r"\bsorry\s*$", stmt)
    if not m:
        raise ValueError("formal_statement does not end in `sorry`")
    prefix = stmt[:m.start()].rstrip()
    body = proof.strip("\n")
    if re.match(r"\s*(theorem|lemma)\s", body):
        if not _squash(body).startswith(_squash(prefix)):
            return None, "statement changed"
        return header + body.rstrip() + "\n", ""
    body = textwrap.dedent(body)
    if prefix.endswith("by") and re.match(r"by\b", body.lstrip()):
        body = textwrap.dedent(body.lstrip()[2:].lstrip(" ").lstrip("\n"))
    body = textwrap.indent(body.rstrip(), "  ")
    return header + prefix + "\n" + body + "\n", ""


def header_lines(header: str) -> int:
    return header.count("\n")


# ---- parsing Lean's messages ---------------------------------------------------------------------------------

def _norm_sev(sev: str) -> str:
    return "info" if sev in ("information", "info") else sev


def parse_messages(output: str) -> list[Message]:
    """Messages from `lean` text output, `lean --json` lines, or a REPL JSON response."""
    text = output.strip()
    if text.startswith("{") and text.endswith("}"):
        try:
            obj = json.loads(text)
            if isinstance(obj, dict) and "messages" in obj:
                return [_from_json(m) for m in obj["messages"]]
        except ValueError:
            pass
    msgs: list[Message] = []
    cur: dict | None = None
    for line in output.splitlines():
        s = line.strip()
        if s.startswith("{") and s.endswith("}"):
            try:
                obj = json.loads(s)
            except ValueError:
                obj = None
            if isinstance(obj, dict) and "severity" in obj:
                if cur:
                    msgs.append(Message(**cur))
                    cur = None
                msgs.append(_from_json(obj))
                continue
        m = _TEXT_MSG.match(line)
        if m:
            if cur:
                msgs.append(Message(**cur))
            cur = {"severity": _norm_sev(m["sev"]), "line": int(m["line"]), "column": int(m["col"]), "text": m["msg"]}
        elif cur is not None:
            cur["text"] += "\n" + line
    if cur:
        msgs.append(Message(**cur))
    return msgs


def _from_json(obj: dict) -> Message:
    pos = obj.get("pos") or {}
    return Message(_norm_sev(str(obj.get("severity", "error"))), int(pos.get("line", 0)), int(pos.get("column", 0)),
                   str(obj.get("data", "")))


def judge_messages(messages: list[Message], n_header_lines: int) -> tuple[str, str]:
    """(status, detail) from Lean's messages for a file whose first n_header_lines lines are the fixed header."""
    errors = [m for m in messages if m.severity == "error"]
    if any(m.line <= n_header_lines and m.line > 0 for m in errors):
        first = next(m for m in errors if 0 < m.line <= n_header_lines)
        return "verifier_error", f"error in header line {first.line}: {first.text.splitlines()[0] if first.text else ''}"
    if errors:
        return "wrong", f"line {errors[0].line}: {errors[0].text.splitlines()[0] if errors[0].text else ''}"
    if any(_SORRY_WARNING in m.text for m in messages):
        return "wrong", "declaration uses sorry"
    return "correct", ""


# ---- running Lean ---------------------------------------------------------------------------------------------

def lean_options(options: dict | None) -> dict:
    given = dict((options or {}).get("lean4", {}))
    bad = sorted(set(given) - set(LEAN_DEFAULTS))
    if bad:
        raise ValueError(f"verify.lean4: unknown key(s) {', '.join(bad)}; allowed: {', '.join(sorted(LEAN_DEFAULTS))}")
    opts = dict(LEAN_DEFAULTS)
    opts.update(given)
    opts["elan_home"] = opts["elan_home"] or os.environ.get("ELAN_HOME") or str(Path.home() / ".elan")
    return opts


class LeanRunner:
    """Checks one Lean file with `lake env lean --json` in the Mathlib project, inside the sandbox."""

    def __init__(self, options: dict | None):
        self.opts = lean_options(options)
        self.project = Path(self.opts["project_dir"])
        elan_lake = Path(self.opts["elan_home"]) / "bin" / "lake"
        self.lake = str(elan_lake) if elan_lake.exists() else shutil.which("lake")
        if self.lake is None or not (self.project / "lakefile.lean").exists() and not (self.project / "lakefile.toml").exists():
            raise LeanUnavailable(
                f"Lean 4 toolchain not found (lake at {elan_lake} or on PATH, Mathlib project at "
                f"verify.lean4.project_dir={self.project}); run the lean4 verify rule in the envs/verify-lean4.def container")
        self.limits = Limits(cpu_s=float(self.opts["timeout_s"]), wall_s=float(self.opts["timeout_s"]) * 1.5 + 10,
                             memory_mb=int(self.opts["memory_mb"]), nproc=int(self.opts["nproc"]), fsize_mb=256,
                             nofile=4096, output_bytes=16 << 20)
        binds = (self.opts["elan_home"], str(self.project))
        sb = dict((options or {}).get("sandbox", {}))
        iso = sb.get("isolation", DEFAULT_ISOLATION) if self.opts["use_sandbox"] else "none"
        self.sandbox = Sandbox(iso, self.limits, extra_ro_binds=tuple(b for b in binds if not b.startswith("/usr/")))

    @property
    def isolation(self) -> str:
        return self.sandbox.applied

    def __call__(self, source: str) -> RunResult:
        env = {"ELAN_HOME": self.opts["elan_home"], "PATH": f"{self.opts['elan_home']}/bin:/usr/bin:/bin"}
        if self.sandbox.isolation == "bwrap":
            return self.sandbox.run([self.lake, "env", "lean", "--json", "/work/Proof.lean"],
                                    {"Proof.lean": source.encode()}, limits=self.limits, env=env,
                                    chdir=str(self.project))
        # weaker isolation: the file lives in a host temp dir that is the cwd; lake must run in the project
        return self.sandbox.run(["sh", "-c", 'f="$PWD/Proof.lean"; cd "$1" && exec "$2" env lean --json "$f"',
                                 "sh", str(self.project), self.lake],
                                {"Proof.lean": source.encode()}, limits=self.limits, env=env)


def run_status(res: RunResult, n_header: int) -> tuple[str, str]:
    if res.status in ("timeout", "memory_limit", "output_limit", "sandbox_error"):
        return res.status, res.stderr_tail
    out = res.stdout.decode("utf-8", "replace") + "\n" + res.stderr.decode("utf-8", "replace")
    messages = parse_messages(out)
    status, detail = judge_messages(messages, n_header)
    if status == "correct" and res.returncode not in (0, None):
        return "runtime_error", f"lean exited {res.returncode} without error messages: {res.stderr_tail}"
    return status, detail


# ---- verifier -------------------------------------------------------------------------------------------------

def verify(problems: pd.DataFrame, samples: pd.DataFrame, options: dict, threads: int,
           runner=None) -> pd.DataFrame:
    """Verdicts for Lean 4 proofs. `runner(source) -> RunResult` defaults to LeanRunner(options)."""
    runner = runner or LeanRunner(options)
    isolation = getattr(runner, "isolation", None)
    refs: dict[str, dict | Exception] = {}
    for pid, reference in zip(problems["problem_id"].astype(str), problems["reference"]):
        try:
            ref = parse_reference(reference, pid)
            if not re.search(r"\bsorry\s*$", ref["formal_statement"].rstrip()):
                raise ValueError(f"problem {pid}: formal_statement does not end in `sorry`")
            ref.setdefault("header", "")
            refs[pid] = ref
        except (ValueError, KeyError, TypeError) as e:
            log.error("problem %s: %s", pid, e)
            refs[pid] = e
    rows: list[dict | None] = [None] * len(samples)
    jobs, members = {}, {}
    for i, (pid, text) in enumerate(zip(samples["problem_id"].astype(str), samples["text"])):
        ref = refs.get(pid)
        if ref is None or isinstance(ref, Exception):
            rows[i] = verdict_row("verifier_error", None, "lean4", 0, isolation, str(ref))
            continue
        proof = extract_proof(text if isinstance(text, str) else "")
        if proof is None:
            rows[i] = verdict_row("no_answer", None, "lean4", 0, isolation)
            continue
        if _FORBIDDEN.search(proof):
            rows[i] = verdict_row("wrong", program_hash(proof), "lean4", 0, isolation, "proof uses sorry/admit/axiom")
            continue
        source, reason = build_theorem_file(ref["header"], ref["formal_statement"], proof)
        if source is None:
            rows[i] = verdict_row("wrong", program_hash(proof), "lean4", 0, isolation, reason)
            continue
        key = (pid, source)
        members.setdefault(key, []).append(i)
        if key not in jobs:
            jobs[key] = (lambda s=source, n=header_lines(ref["header"]): (run_status(r := runner(s), n), r.elapsed_ms))
    results = run_distinct(jobs, threads)
    for key, idx in members.items():
        res = results[key]
        if isinstance(res, Exception):
            row = verdict_row("verifier_error", program_hash(key[1]), "lean4", 0, isolation, f"{type(res).__name__}: {res}")
        else:
            (status, detail), elapsed = res
            row = verdict_row(status, program_hash(key[1]), "lean4", elapsed, isolation, detail)
        for i in idx:
            rows[i] = row
    return verdict_frame(samples, rows)
