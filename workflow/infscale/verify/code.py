"""Code verifiers: stdin/stdout problems (CodeContests) and function tests (HumanEval, MBPP-sanitized).

Every program runs in the sandbox of `infscale.verify.sandbox` (bubblewrap by default). Each DISTINCT program of a
problem runs once (dedup; samples with the same program share the verdict), and distinct programs run in
parallel up to `threads`. Programs are Python 3 (the interpreter is `verify.sandbox.python`).

Reference formats (the problems table's `reference` column, a JSON object string):

code_stdio (CodeContests-style)::

    {"tests": {"public":    [{"input": "1 2\\n", "output": "3\\n"}, ...],
               "private":   [...],
               "generated": [...]},
     "time_limit_s": 2.0}

  Also accepted, as in the Hub's deepmind/code_contests rows: top-level "public_tests", "private_tests",
  "generated_tests", each {"input": [...], "output": [...]}, and "time_limit" as {"seconds": s, "nanos": n} or a
  number of seconds. Tests run in the order public, private, generated and stop at the first failure.
  Time limit per test = time_limit_s (default verify.code.default_time_limit_s) + verify.code.time_slack_s,
  applied as the CPU limit; the wall limit is 2x that + 1 s.

code_function, HumanEval::  {"prompt": ..., "test": ..., "entry_point": ...}
  program = prompt + completion + test + "check(entry_point)". A completion that repeats the signature
  (a top-level `def entry_point(`) is appended after the whole prompt (it redefines the stub); one that only
  continues the prompt is appended directly.

code_function, MBPP(-sanitized)::  {"test_list": [...], "test_imports": [...], "test_setup_code": "" (optional)}
  program = test_imports + completion + test_setup_code + the test_list asserts.

In both, a fenced code block in the sample is used when present. Statuses: correct | wrong (an output mismatch
or a failing assert) | no_answer (no program found) | compile_error | runtime_error | timeout | memory_limit |
output_limit | sandbox_error | verifier_error. The `extracted` column holds a short hash of the program run.

Options (the `verify` config mapping): verify.code.{time_slack_s, default_time_limit_s, function_timeout_s,
dedupe} and verify.sandbox.* (see sandbox.py).
"""

from __future__ import annotations

import ast
import logging
import math
import re
import time

import pandas as pd

from .common import first_fenced_block, parse_reference, program_hash, run_distinct, verdict_frame, verdict_row
from .sandbox import Limits, RunResult, Sandbox

log = logging.getLogger(__name__)

CODE_DEFAULTS = {"time_slack_s": 1.0, "default_time_limit_s": 2.0, "function_timeout_s": 10.0, "dedupe": True}


def code_options(options: dict | None) -> dict:
    opts = dict(CODE_DEFAULTS)
    given = dict((options or {}).get("code", {}))
    bad = sorted(set(given) - set(CODE_DEFAULTS))
    if bad:
        raise ValueError(f"verify.code: unknown key(s) {', '.join(bad)}; allowed: {', '.join(sorted(CODE_DEFAULTS))}")
    opts.update(given)
    return opts


# ---- output comparison ----------------------------------------------------------------------------------------

# DeepMind's tester splits on ASCII whitespace and lower-cases ASCII letters only; a number is ASCII digits (no
# `1_000`, no fullwidth or Arabic-Indic digits, no nan/inf), which Python's int()/float() would all accept.
_WS = re.compile(r"[ \t\n\r\v\f]+")
_INT = re.compile(r"[+-]?[0-9]+", re.ASCII)
_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _as_int(tok: str):
    return int(tok) if _INT.fullmatch(tok) else None


def _as_float(tok: str):
    if not _FLOAT.fullmatch(tok):
        return None
    try:
        v = float(tok)
    except (ValueError, OverflowError):
        return None
    return v if math.isfinite(v) else None


def tokens_match(a: str, b: str) -> bool:
    """One token pair, after ASCII lower-casing: equal strings; both integers -> exact; both numbers (one a
    float) -> |a-b| < 1e-5; else no match."""
    if a == b:
        return True
    ai, bi = _as_int(a), _as_int(b)
    if ai is not None and bi is not None:
        return ai == bi
    af, bf = _as_float(a), _as_float(b)
    if af is not None and bf is not None:
        return abs(af - bf) < 1e-5
    return False


def _tokens(text: str) -> list[str]:
    return [t for t in _WS.split(text.translate(_ASCII_LOWER)) if t]


def outputs_match(output: str, expected: str) -> bool:
    """Compare like DeepMind's CodeContests tester (github.com/google-deepmind/code_contests,
    execution/tester_sandboxer.cc, OutputsMatch/ValuesMatch): split both on whitespace (space, \\n, \\t, \\r,
    \\v, \\f), ASCII lower-case, same number of tokens, and token by token: integers (ASCII digits, optional
    sign) exactly, numbers where either is a float within an absolute 1e-5, anything else as equal strings.
    (Reimplemented; integers here are unbounded.)"""
    out, exp = _tokens(output), _tokens(expected)
    if out == exp:
        return True
    return len(out) == len(exp) and all(tokens_match(a, b) for a, b in zip(out, exp))


# ---- program extraction ---------------------------------------------------------------------------------------

def parses(source: str) -> bool:
    """Syntax check on the host without running anything (ast.parse never executes code)."""
    try:
        ast.parse(source)
        return True
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
        return False


def extract_program(text: str) -> str | None:
    """First fenced code block; else the whole text if it parses as Python; else None."""
    block = first_fenced_block(text)
    if block is not None:
        return block[1]
    if text and text.strip() and parses(text):
        return text
    return None


def _code_of(text: str) -> str:
    block = first_fenced_block(text)
    return block[1] if block is not None else (text or "")


def _humaneval_solution(prompt: str, completion: str, entry_point: str) -> str:
    code = _code_of(completion)
    repeats_signature = re.search(rf"^(async\s+)?def\s+{re.escape(entry_point)}\s*\(", code, re.M) is not None
    return prompt + "\n" + code if repeats_signature else prompt + code


def mbpp_parts(completion: str, test_list: list[str], test_imports: list[str] | None = None,
               test_setup_code: str = "") -> tuple[str, str]:
    solution = "\n".join(list(test_imports or []) + [_code_of(completion), test_setup_code or ""]) + "\n"
    return solution, "\n".join(test_list) + "\n"


# ---- statuses --------------------------------------------------------------------------------------------------

_COMPILE_ERRORS = ("SyntaxError", "IndentationError", "TabError")


def failure_status(res: RunResult) -> str:
    """Status of a run that did not pass."""
    if res.status != "ok" and res.status != "runtime_error":
        return res.status
    tail = res.stderr_tail
    if tail.startswith(_COMPILE_ERRORS):
        return "compile_error"
    return "runtime_error"


def check_reference(domain: str, ref: dict) -> None:
    """Raise ValueError (one line) when a code reference is unusable: a test input/output that is not a string,
    unequal input and output lists, a HumanEval/MBPP field missing or of the wrong type."""
    if domain == "code_stdio":
        stdio_tests(ref)  # types only: a problem without tests gets verifier_error at verify time
    elif domain == "code_function":
        function_parts(ref, "")
        for key in ("prompt", "test", "entry_point", "test_setup_code"):
            if key in ref and not isinstance(ref[key], str) and not (key == "test_setup_code" and ref[key] is None):
                raise ValueError(f"reference field {key} is {type(ref[key]).__name__}, not a string")
        for key in ("test_list", "test_imports"):
            v = ref.get(key) or []
            if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
                raise ValueError(f"reference field {key} must be a list of strings")


# ---- stdio ---------------------------------------------------------------------------------------------------

def stdio_tests(ref: dict) -> tuple[list[tuple[str, str]], float | None]:
    """(input, output) pairs in the order public, private, generated, and the time limit in seconds (or None)."""
    tests: list[tuple[str, str]] = []
    named: list[str] = []
    if "tests" in ref:
        for group in ("public", "private", "generated"):
            for i, t in enumerate(ref["tests"].get(group, []) or []):
                tests.append((t["input"], t["output"]))
                named.append(f"{group} test {i}")
    else:
        for group in ("public_tests", "private_tests", "generated_tests"):
            g = ref.get(group) or {}
            pairs = list(zip(g.get("input", []), g.get("output", [])))
            if len(pairs) != max(len(g.get("input", [])), len(g.get("output", []))):
                raise ValueError(f"{group} has {len(g.get('input', []))} inputs but {len(g.get('output', []))} outputs")
            tests += pairs
            named += [f"{group} {i}" for i in range(len(pairs))]
    for what, (inp, out) in zip(named, tests):
        for field, v in (("input", inp), ("output", out)):
            if not isinstance(v, str):
                raise ValueError(f"{what}: {field} is {type(v).__name__} {v!r:.40}, not a string")
    tl = ref.get("time_limit_s", ref.get("time_limit"))
    if isinstance(tl, dict):
        tl = float(tl.get("seconds", 0) or 0) + float(tl.get("nanos", 0) or 0) / 1e9
        tl = tl or None
    return tests, (float(tl) if tl else None)


def _run_stdio(sandbox: Sandbox, program: str, tests, time_limit: float) -> tuple[str, float, str]:
    base = sandbox.limits
    limits = Limits(**{**base.__dict__, "cpu_s": time_limit, "wall_s": 2 * time_limit + 1.0})
    elapsed = 0.0
    for i, (stdin, expected) in enumerate(tests):
        res = sandbox.run_python(program, stdin, limits)
        elapsed += res.elapsed_ms
        if res.status != "ok":
            return failure_status(res), elapsed, f"test {i}: {res.status}: {res.stderr_tail}"
        if not outputs_match(res.stdout.decode("utf-8", "replace"), expected):
            return "wrong", elapsed, f"test {i}: output differs"
    return "correct", elapsed, f"{len(tests)} tests passed"


def _references(problems: pd.DataFrame, build) -> dict:
    """problem_id -> build(pid, parsed reference), or the exception a bad reference raised (its samples then get
    verifier_error instead of the whole shard failing)."""
    refs: dict = {}
    for pid, reference in zip(problems["problem_id"].astype(str), problems["reference"]):
        try:
            refs[pid] = build(pid, parse_reference(reference, pid))
        except (ValueError, KeyError, TypeError) as e:
            log.error("%s", e if pid in str(e) else f"problem {pid}: {e}")
            refs[pid] = e
    return refs


def verify_stdio(problems: pd.DataFrame, samples: pd.DataFrame, options: dict, threads: int) -> pd.DataFrame:
    opts = code_options(options)
    sandbox = Sandbox.from_options(options)

    def build(pid: str, ref: dict) -> tuple:
        tests, tl = stdio_tests(ref)
        if not tests:
            raise ValueError(f"problem {pid}: reference has no tests")
        return tests, (tl or float(opts["default_time_limit_s"])) + float(opts["time_slack_s"])

    refs = _references(problems, build)

    def make_job(program, tests, tl):
        return lambda: _run_stdio(sandbox, program, tests, tl)

    return _verify_programs(samples, refs, opts, threads, sandbox, "code_stdio",
                            lambda pid, text: extract_program(text), make_job)


# ---- function tests -------------------------------------------------------------------------------------------

def _run_function(sandbox: Sandbox, parts: tuple[str, str, str | None], timeout_s: float) -> tuple[str, float, str]:
    """A pass is only the harness's token (harness.py), written after every check returned; an exit status
    never is."""
    limits = sandbox.limits.replace(cpu_s=timeout_s, wall_s=2 * timeout_s + 1.0)
    solution, checks, entry = parts
    res = sandbox.run_harness(solution, checks, entry, limits)
    if res.passed:
        return "correct", res.elapsed_ms, ""
    if res.status == "ok":  # ended with status 0 but without the token: the checks did not all return
        return "wrong", res.elapsed_ms, "exited before every check returned"
    if res.status == "runtime_error" and res.stderr_tail.startswith("AssertionError"):
        return "wrong", res.elapsed_ms, res.stderr_tail
    return failure_status(res), res.elapsed_ms, f"{res.status}: {res.stderr_tail}"


def function_parts(ref: dict, text: str) -> tuple[str, str, str | None]:
    """(solution, checks, entry point or None) for the harness."""
    if "entry_point" in ref:
        entry = ref["entry_point"]
        return _humaneval_solution(ref["prompt"], text, entry), ref["test"], entry
    if "test_list" in ref:
        return (*mbpp_parts(text, ref["test_list"], ref.get("test_imports"), ref.get("test_setup_code", "")), None)
    raise ValueError("reference has neither entry_point (HumanEval) nor test_list (MBPP)")


def joined_program(parts: tuple[str, str, str | None]) -> str:
    """The whole program as one text (hashed, syntax-checked, deduplicated): solution, checks, check(entry)."""
    solution, checks, entry = parts
    return solution + "\n\n" + checks + (f"\n\ncheck({entry})\n" if entry else "")


def verify_function(problems: pd.DataFrame, samples: pd.DataFrame, options: dict, threads: int) -> pd.DataFrame:
    opts = code_options(options)
    sandbox = Sandbox.from_options(options)

    def build(pid: str, ref: dict) -> dict:
        check_reference("code_function", ref)
        return ref

    refs = _references(problems, build)

    def extract(pid, text):
        return function_parts(refs[pid], text) if (text or "").strip() else None

    timeout = float(opts["function_timeout_s"])
    return _verify_programs(samples, refs, opts, threads, sandbox, "code_function", extract,
                            lambda parts, *_: (lambda: _run_function(sandbox, parts, timeout)))


# ---- shared driver --------------------------------------------------------------------------------------------

def _verify_programs(samples, refs, opts, threads, sandbox, verifier, extract, make_job) -> pd.DataFrame:
    rows: list[dict | None] = [None] * len(samples)
    jobs, members = {}, {}
    for i, (pid, text) in enumerate(zip(samples["problem_id"].astype(str), samples["text"])):
        ref = refs.get(pid)
        if ref is None or isinstance(ref, Exception):
            rows[i] = verdict_row("verifier_error", None, verifier, 0.0, sandbox.applied,
                                  str(ref) if ref is not None else f"problem {pid} not in problems table")
            continue
        try:
            payload = extract(pid, text if isinstance(text, str) else "")
            program = payload if payload is None or isinstance(payload, str) else joined_program(payload)
        except Exception as e:  # noqa: BLE001
            rows[i] = verdict_row("verifier_error", None, verifier, 0.0, sandbox.applied, str(e))
            continue
        if program is None or not program.strip():
            rows[i] = verdict_row("no_answer", None, verifier, 0.0, sandbox.applied)
            continue
        if not parses(program):
            rows[i] = verdict_row("compile_error", program_hash(program), verifier, 0.0, sandbox.applied)
            continue
        key = (pid, program) if opts["dedupe"] else (pid, program, i)
        members.setdefault(key, []).append(i)
        if key not in jobs:
            jobs[key] = make_job(payload, *(ref if isinstance(ref, tuple) else ()))
    t0 = time.perf_counter()
    results = run_distinct(jobs, threads)
    for key, idx in members.items():
        res = results[key]
        if isinstance(res, Exception):
            row = verdict_row("sandbox_error", program_hash(key[1]), verifier, 0.0, sandbox.applied,
                              f"{type(res).__name__}: {res}")
        else:
            status, elapsed, detail = res
            row = verdict_row(status, program_hash(key[1]), verifier, elapsed, sandbox.applied, detail)
        for i in idx:
            rows[i] = row
    log.info("%s: %d samples, %d distinct programs run in %.1f s", verifier, len(samples), len(jobs),
             time.perf_counter() - t0)
    return verdict_frame(samples, rows)
