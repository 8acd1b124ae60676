"""Code verifiers: CodeContests-style stdio problems, HumanEval and MBPP-sanitized function tests (real sandbox)."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pandas as pd
import pytest

from infscale.contracts import VERDICT_COLUMNS, VERDICT_STATUSES
from infscale.verify import code as codemod
from infscale.verify import verify_frames
from infscale.verify.code import (extract_program, function_parts, joined_program, outputs_match, stdio_tests,
                                  verify_function, verify_stdio)
from infscale.verify.sandbox import Sandbox

DATA = Path(__file__).resolve().parents[1] / "resources" / "data"


def _samples(pairs):
    return pd.DataFrame({"problem_id": [p for p, _ in pairs], "sample_index": list(range(len(pairs))),
                         "text": [t for _, t in pairs], "prompt_tokens": 1, "completion_tokens": 1,
                         "finish_reason": "stop", "seed": 0})


def _problems(refs: dict, domain: str):
    return pd.DataFrame({"problem_id": list(refs), "question": "q", "domain": domain,
                         "reference": [r if isinstance(r, str) else json.dumps(r) for r in refs.values()]})


# ---- output comparison -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("out,exp,ok", [
    ("3\n", "3", True),
    ("1  2\n3\t4\r\n", "1 2 3 4", True),            # any whitespace splits
    ("YES", "yes", True),                            # case-insensitive
    ("0.3333339", "0.333333", True),                 # floats within 1e-5
    ("0.33335", "0.33333", False),
    ("1.000001", "1", True),                         # a float against an int is compared as numbers
    ("12345678901234567891", "12345678901234567890", False),  # integers exactly, even huge ones
    ("007", "7", True),
    ("1 2", "1 2 3", False),
    ("abc", "abd", False),
    ("", "", True),
    ("nan", "nan", True),                            # identical tokens
])
def test_outputs_match_like_codecontests(out, exp, ok):
    assert outputs_match(out, exp) is ok


def test_extract_program():
    assert extract_program("Here:\n```python\nprint(1)\n```\nand ```print(2)```") == "print(1)\n"
    assert extract_program("```\nx = 1\n```") == "x = 1\n"
    assert extract_program("```python\nprint(1)\n") == "print(1)\n"  # unclosed fence (cut at max tokens)
    assert extract_program("print(input())") == "print(input())"
    assert extract_program("The answer is to loop over i.") is None
    assert extract_program("") is None


# ---- stdio (problems of our own) -------------------------------------------------------------------------------

ADD = {"tests": {"public": [{"input": "1 2\n", "output": "3\n"}],
                 "private": [{"input": "-5 5\n", "output": "0\n"}, {"input": "100000000000 1\n", "output": "100000000001\n"}],
                 "generated": [{"input": "7 8\n", "output": "15\n"}]},
       "time_limit_s": 1.0}
MEAN = {"tests": {"public": [{"input": "3\n1 2 2\n", "output": "1.6666667\n"}],
                  "generated": [{"input": "2\n1 2\n", "output": "1.5"}]}, "time_limit_s": 1.0}
PARITY = {  # the native deepmind/code_contests layout
    "public_tests": {"input": ["4\n"], "output": ["YES\n"]},
    "private_tests": {"input": ["7\n"], "output": ["NO\n"]},
    "generated_tests": {"input": ["0\n", "1\n"], "output": ["YES\n", "NO\n"]},
    "time_limit": {"seconds": 1, "nanos": 500000000}}


def test_stdio_tests_order_and_time_limit():
    tests, tl = stdio_tests(ADD)
    assert [t[0] for t in tests] == ["1 2\n", "-5 5\n", "100000000000 1\n", "7 8\n"] and tl == 1.0
    tests, tl = stdio_tests(PARITY)
    assert [t[0] for t in tests] == ["4\n", "7\n", "0\n", "1\n"] and tl == 1.5


def test_verify_stdio_statuses():
    refs = {"add": ADD, "mean": MEAN, "parity": PARITY, "broken": "{not json"}
    add_ok = "```python\na, b = map(int, input().split())\nprint(a + b)\n```"
    pairs = [
        ("add", add_ok),
        ("add", "a, b = map(int, input().split())\nprint(a + b)"),                  # no fence, parses
        ("add", "a, b = map(int, input().split())\nprint(a + b if a > 0 else 1)"),  # fails a private test
        ("add", "```python\nimport sys\nsys.exit(3)\n```"),
        ("add", "```python\nwhile True: pass\n```"),
        ("add", "```python\ndef f(:\n```"),
        ("add", "I would add the two numbers."),
        ("add", "```python\nx = bytearray(10 ** 10)\n```"),
        ("add", "```python\nwhile True: print('spam' * 1000)\n```"),
        ("mean", "```python\nn = int(input()); xs = list(map(int, input().split()))\nprint(sum(xs) / n)\n```"),
        ("mean", "```python\nn = int(input()); xs = list(map(int, input().split()))\nprint(round(sum(xs) / n, 2))\n```"),
        ("parity", "```python\nprint('yes' if int(input()) % 2 == 0 else 'no')\n```"),
        ("broken", add_ok),
        ("missing", add_ok),
    ]
    opts = {"code": {"time_slack_s": 0.5}, "sandbox": {"limits": {"output_bytes": 1 << 16}}}
    v = verify_stdio(_problems(refs, "code_stdio"), _samples(pairs), opts, threads=2)
    assert list(v.columns[:len(VERDICT_COLUMNS)]) == VERDICT_COLUMNS
    assert v["status"].tolist() == [
        "correct", "correct", "wrong", "runtime_error", "timeout", "compile_error", "no_answer", "memory_limit",
        "output_limit", "correct", "wrong", "correct", "verifier_error", "verifier_error"]
    assert v["correct"].tolist() == [s == "correct" for s in v["status"]]
    assert set(v["status"]) <= set(VERDICT_STATUSES)
    assert v["isolation"].str.startswith("bwrap+").all() and (v["verifier"] == "code_stdio").all()
    assert v.loc[0, "extracted"].startswith("blake2b:") and pd.isna(v.loc[6, "extracted"])
    assert v.loc[2, "detail"].startswith("test 1")  # stops at the first private test (tests are 0-based)


def test_time_limit_comes_from_problem_plus_slack():
    slow = "```python\nimport time\nt = time.process_time()\nwhile time.process_time() - t < 1.6: pass\nprint(3)\n```"
    refs = {"add": {"tests": {"public": [{"input": "1 2", "output": "3"}]}, "time_limit_s": 1.0}}
    tight = verify_stdio(_problems(refs, "code_stdio"), _samples([("add", slow)]), {"code": {"time_slack_s": 0.0}}, 1)
    loose = verify_stdio(_problems(refs, "code_stdio"), _samples([("add", slow)]), {"code": {"time_slack_s": 2.0}}, 1)
    assert tight["status"].tolist() == ["timeout"] and loose["status"].tolist() == ["correct"]


def test_distinct_programs_run_once_each(monkeypatch):
    calls = []
    real = Sandbox.run_python

    def counting(self, source, stdin=b"", limits=None):
        calls.append(source)
        return real(self, source, stdin, limits)
    monkeypatch.setattr(Sandbox, "run_python", counting)
    good = "print(sum(map(int, input().split())))"
    bad = "print(0)"
    refs = {"a": {"tests": {"public": [{"input": "1 2", "output": "3"}, {"input": "2 2", "output": "4"}]}}}
    pairs = [("a", good)] * 5 + [("a", bad)] * 4 + [("a", f"```python\n{good}\n```")]
    v = verify_stdio(_problems(refs, "code_stdio"), _samples(pairs), {}, threads=2)
    assert v["status"].tolist() == ["correct"] * 5 + ["wrong"] * 4 + ["correct"]
    # good runs both tests once (the fenced copy extracts to good + "\n", a distinct program), bad stops at test 1
    assert sorted(calls) == sorted([good, good, bad, good + "\n", good + "\n"])
    calls.clear()
    verify_stdio(_problems(refs, "code_stdio"), _samples(pairs), {"code": {"dedupe": False}}, threads=2)
    assert len(calls) == 5 * 2 + 4 + 2


def test_unknown_code_option_is_one_line():
    with pytest.raises(ValueError, match="verify.code: unknown key"):
        verify_stdio(_problems({"a": ADD}, "code_stdio"), _samples([("a", "print(1)")]), {"code": {"slack": 1}}, 1)


# ---- HumanEval -------------------------------------------------------------------------------------------------

def _humaneval():
    return [json.loads(line) for line in (DATA / "humaneval" / "test.jsonl").read_text().splitlines()]


def _he_problems(rows):
    return _problems({r["task_id"]: {"prompt": r["prompt"], "test": r["test"], "entry_point": r["entry_point"]}
                      for r in rows}, "code_function")


def test_all_humaneval_canonical_solutions_pass_and_mutants_fail():
    rows = _humaneval()
    assert len(rows) == 164
    pairs = [(r["task_id"], r["canonical_solution"]) for r in rows]
    # mutant: the function returns None before doing anything
    pairs += [(r["task_id"], "    return None\n" + r["canonical_solution"]) for r in rows]
    v = verify_function(_he_problems(rows), _samples(pairs), {}, threads=2)
    canon, mutant = v.iloc[:164], v.iloc[164:]
    assert canon["status"].tolist() == ["correct"] * 164, canon[~canon["correct"]][["problem_id", "detail"]]
    assert not mutant["correct"].any()
    assert set(mutant["status"]) <= {"wrong", "runtime_error"}
    assert (mutant["status"] == "wrong").sum() > 140  # mostly failing asserts, not crashes


def test_humaneval_completion_that_repeats_the_signature():
    rows = [r for r in _humaneval() if r["task_id"] in ("HumanEval/0", "HumanEval/10", "HumanEval/38")]
    pairs = []
    for r in rows:
        full = r["prompt"] + r["canonical_solution"]
        pairs.append((r["task_id"], f"Here is the function:\n```python\n{full}\n```\nDone."))
        pairs.append((r["task_id"], full))
        pairs.append((r["task_id"], r["prompt"] + "    pass\n"))
    v = verify_function(_he_problems(rows), _samples(pairs), {}, threads=2)
    assert v["status"].tolist() == ["correct", "correct", "wrong"] * 3


def test_humaneval_program_shape():
    ref = {"prompt": "def f(x):\n    \"\"\"doc\"\"\"\n", "test": "def check(c):\n    assert c(1) == 1\n",
           "entry_point": "f"}
    prog = joined_program(function_parts(ref, "    return x\n"))
    assert prog.endswith("check(f)\n") and "def f(x):\n    \"\"\"doc\"\"\"\n    return x\n" in prog
    ast.parse(prog)


# ---- MBPP-sanitized --------------------------------------------------------------------------------------------

def test_mbpp_sanitized_subset():
    rows = [json.loads(line) for line in (DATA / "mbpp_sanitized" / "test_first12.jsonl").read_text().splitlines()]
    refs = {str(r["task_id"]): {"test_list": r["test_list"], "test_imports": r["test_imports"]} for r in rows}
    pairs = []
    for r in rows:
        name = next(n.name for n in ast.parse(r["code"]).body if isinstance(n, ast.FunctionDef))
        pairs.append((str(r["task_id"]), f"```python\n{r['code']}\n```"))
        pairs.append((str(r["task_id"]), r["code"] + f"\n\ndef {name}(*args, **kwargs):\n    return None\n"))
    v = verify_function(_problems(refs, "code_function"), _samples(pairs), {}, threads=2)
    assert v["status"].iloc[0::2].tolist() == ["correct"] * len(rows), v[["problem_id", "detail"]]
    assert not v["correct"].iloc[1::2].any()


def test_dispatch_through_verify_frames():
    rows = _humaneval()[:3]
    samples = _samples([(r["task_id"], r["canonical_solution"]) for r in rows])
    v = verify_frames(_he_problems(rows), samples, {}, threads=1)
    assert v["correct"].all() and len(v) == 3


def test_crashing_extraction_gets_a_status(monkeypatch):
    def boom(ref, text):
        raise RuntimeError("boom")
    rows = _humaneval()[:1]
    monkeypatch.setattr(codemod, "function_parts", lambda ref, text: "" if text == "" else boom(ref, text))
    v = verify_function(_he_problems(rows), _samples([(rows[0]["task_id"], "x")]), {}, 1)
    assert v["status"].tolist() == ["verifier_error"]


def test_verdicts_round_trip_through_parquet_with_string_columns(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from infscale import io
    refs = {"a": {"tests": {"public": [{"input": "", "output": "1"}]}}}
    v = verify_stdio(_problems(refs, "code_stdio"), _samples([("a", "no program here at all")]), {}, 1)
    assert v["status"].tolist() == ["no_answer"] and v["extracted"].isna().all()
    io.write_parquet(v, tmp_path / "v.parquet", {"x": 1})
    schema = pq.read_schema(tmp_path / "v.parquet")
    assert pa.types.is_large_string(schema.field("extracted").type) or pa.types.is_string(schema.field("extracted").type)
    assert schema.field("correct").type == pa.bool_()
    back = io.read_parquet(tmp_path / "v.parquet")
    assert back["status"].tolist() == ["no_answer"]


# ---- a pass cannot be forged (issue 11 item 1) ----------------------------------------------------------------

_WRONG = "def add(a, b):\n    return a - b\n"
FORGERIES = {
    "sys.exit(0)": _WRONG + "import sys\nsys.exit(0)\n",
    "exit()": _WRONG + "exit()\n",
    "raise SystemExit": _WRONG + "raise SystemExit\n",
    "os._exit(0) at import": _WRONG + "import os\nos._exit(0)\n",
    "os._exit(0) inside the call": "def add(a, b):\n    import os\n    os._exit(0)\n",
    "SystemExit inside the call": "def add(a, b):\n    raise SystemExit(0)\n",
    "atexit hook": _WRONG + "import atexit, os\natexit.register(lambda: os._exit(0))\n",
    "atexit flushes a fake pass": _WRONG + "import atexit, os, sys\natexit.register(lambda: [os.write(w, b'0' * 32) "
                                  "for w in range(3, 20) if not os.close(0)])\n",
    "setprofile exit on check": _WRONG + "import sys, os\ndef p(f, e, a):\n    if f.f_code.co_name == 'check':\n"
                                "        os._exit(0)\nsys.setprofile(p)\n",
    "settrace skips the asserts": _WRONG + "import sys\ndef t(f, e, a):\n    if f.f_code.co_name == 'check':\n"
                                  "        f.f_trace_lines = True\n        return lambda f, e, a: setattr(f, 'f_lineno', "
                                  "f.f_code.co_firstlineno + 99) if e == 'line' else None\nsys.settrace(t)\n",
    "kills the harness": _WRONG + "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n",
    "kills the harness in the call": "def add(a, b):\n    import os, signal\n    os.kill(os.getpid(), signal.SIGTERM)\n",
    "excepthook exit": _WRONG + "import sys, os\nsys.excepthook = lambda *a: os._exit(0)\n",
    "writes guesses on every fd": _WRONG + "import os\nfor fd in range(3, 64):\n    try:\n        os.write(fd, os.urandom(32).hex().encode())\n    except OSError:\n        pass\n",
    "patches builtins used by the check": "import builtins\nbuiltins.abs = lambda x: 0\n" + _WRONG,
    "swaps check from a thread": _WRONG + "import threading, time, sys\ng = sys._getframe(0).f_globals\n"
                                 "def swap():\n    for _ in range(10**6):\n        g['check'] = lambda c: None\n"
                                 "threading.Thread(target=swap, daemon=True).start()\n",
    "patched len hides a swapping thread": _WRONG + "import builtins, threading, sys\nbuiltins.len = lambda x: 1\n"
                                            "g = sys._getframe(0).f_globals\ndef swap():\n    while True:\n"
                                            "        g['check'] = lambda c: None\n"
                                            "threading.Thread(target=swap, daemon=True).start()\n",
    "profile on all threads": _WRONG + "import threading, os\nf = getattr(threading, 'setprofile_all_threads', None)\n"
                                "(f or threading.setprofile)(lambda *a: os._exit(0))\n",
    "gc hunts the token": _WRONG + "import gc, os\nfor o in gc.get_objects():\n    pass\nos._exit(0)\n",
    "frame walk to the harness": _WRONG + "import sys, os\nf = sys._getframe(0)\nwhile f.f_back:\n    f = f.f_back\n"
                                 "for k, v in list(f.f_locals.items()) + list(f.f_globals.items()):\n"
                                 "    if isinstance(v, bytes) and len(v) == 32:\n        os.write(int(sys.argv[2]), v)\n"
                                 "os._exit(0)\n",
    "reads its own memory": _WRONG + "import os\nopen('/proc/self/mem', 'rb')\n",
    "ctypes": _WRONG + "import ctypes\n",
    "new audit hook": _WRONG + "import sys, os\nsys.addaudithook(lambda e, a: os._exit(0) if e == 'infscale.pass' else None)\n",
    "fake pass event": _WRONG + "import sys, os\nsys.audit('infscale.begin')\nsys.audit('infscale.pass')\nos._exit(0)\n",
}
_ADD_REF = {"prompt": "", "test": "def check(candidate):\n    assert abs(candidate(2, 3)) == 5\n"
                                   "    assert candidate(1, 1) == 2\n", "entry_point": "add"}


@pytest.mark.parametrize("name", list(FORGERIES))
def test_humaneval_pass_cannot_be_forged(name):
    pairs = [("add", FORGERIES[name]), ("add", "def add(a, b):\n    return a + b\n")]
    v = verify_function(_problems({"add": _ADD_REF}, "code_function"), _samples(pairs), {}, threads=1)
    assert v["status"].iloc[0] in ("wrong", "runtime_error"), v.iloc[0].to_dict()
    assert v["status"].iloc[1] == "correct", v.iloc[1].to_dict()


@pytest.mark.parametrize("trick", ["import sys\nsys.exit(0)\n", "import os\nos._exit(0)\n",
                                   "import atexit, os\natexit.register(lambda: os._exit(0))\n"])
def test_mbpp_pass_cannot_be_forged(trick):
    ref = {"test_list": ["assert add(2, 3) == 5"], "test_imports": []}
    v = verify_function(_problems({"m": ref}, "code_function"), _samples([("m", _WRONG + trick)]), {}, threads=1)
    assert v["status"].tolist() == ["wrong"] or v["status"].tolist() == ["runtime_error"], v.to_dict("records")


# ---- CodeContests checker parsing (issue 11 item 3) -----------------------------------------------------------

@pytest.mark.parametrize("out,exp", [
    ("1_000", "1000"), ("1_000.0", "1000"), ("３", "3"), ("٣", "3"), ("١٢", "12"), ("3\u00a04", "3 4"),
    ("inf", "1e400"), ("nan", "0"), ("Infinity", "inf"), ("0x10", "16"), ("1e5", "100001"), ("İ", "i"),
    ("ǅ", "ǆ"), ("3.", "4"), (" 3", "3 3"),
])
def test_checker_rejects_what_python_number_parsing_would_accept(out, exp):
    assert not outputs_match(out, exp)


@pytest.mark.parametrize("out,exp", [
    ("+3", "3"), ("-0", "0"), ("3.000001", "3"), ("1e5", "100000"), ("1E-7", "0"), (".5", "0.5"), ("3.", "3"),
    ("yes\fno", "YES NO"), ("Ab\vC", "aB c"), ("inf", "inf"),
])
def test_checker_accepts_deepminds_matches(out, exp):
    assert outputs_match(out, exp)


# ---- bad shards: one line, nothing written, no program run (issue 11 item 6) ----------------------------------

def _shard_case(tmp_path, samples: pd.DataFrame | None = None, raw: bytes | None = None):
    from infscale import io
    from infscale.cli import run_logged
    from infscale.verify import verify_shard
    probs = tmp_path / "problems.parquet"
    io.write_parquet(_problems({"add": _ADD_REF}, "code_function"), probs)
    shard = tmp_path / "samples.parquet"
    if raw is not None:
        shard.write_bytes(raw)
    else:
        io.write_parquet(samples, shard)
    out = tmp_path / "out" / "v.parquet"
    with pytest.raises(SystemExit) as e:
        run_logged(None, verify_shard, str(probs), str(shard), str(out), {}, 1)
    assert str(e.value).startswith("infscale: ") and "\n" not in str(e.value), e.value
    assert not out.exists() and not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []
    return str(e.value)


@pytest.mark.parametrize("indices,says", [
    ([0, float("nan")], "not a number"), ([0, -1], "whole number >= 0"), ([0, 1.5], "whole number >= 0"),
    ([3, 3], "appears more than once"),
])
def test_bad_sample_index_stops_before_any_program_runs(tmp_path, monkeypatch, indices, says):
    monkeypatch.setattr(Sandbox, "run", lambda *a, **k: pytest.fail("a program ran"))
    s = _samples([("add", "def add(a, b):\n    return a + b\n")] * 2)
    s["sample_index"] = indices
    assert says in _shard_case(tmp_path, s)


@pytest.mark.parametrize("cut", [0, 50, -10])
def test_zero_byte_or_truncated_samples_parquet(tmp_path, cut):
    from infscale import io
    good = tmp_path / "g.parquet"
    io.write_parquet(_samples([("add", "x")]), good)
    msg = _shard_case(tmp_path, raw=good.read_bytes()[:cut])
    assert "not a readable parquet file" in msg


def test_stdio_reference_with_a_number_is_a_verifier_error_not_a_timeout():
    refs = {"n": {"tests": {"public": [{"input": 5, "output": "5"}]}}}
    v = verify_stdio(_problems(refs, "code_stdio"), _samples([("n", "print(input())")]), {}, 1)
    assert v["status"].tolist() == ["verifier_error"] and "not a string" in v["detail"].iloc[0]


# ---- the code-fence finder is linear (issue 11 item 7) --------------------------------------------------------

@pytest.mark.parametrize("text", ["```" + "x" * 30_000, "```" * 10_000, "```python\n" + "y = 1\n" * 5_000,
                                  "```" + "a" * 15_000 + "-" * 15_000, "no fence " * 3_000 + "```"])
def test_fence_finder_is_fast_on_30k_characters(text):
    import time
    from infscale.verify.common import first_fenced_block
    t = time.perf_counter()
    first_fenced_block(text)
    assert time.perf_counter() - t < 0.05  # 10 ms goal, headroom for a loaded CI runner; was 0.95 s


@pytest.mark.parametrize("text,want", [
    ("Here:\n```python\nprint(1)\n```\nand ```print(2)```", ("python", "print(1)\n")),
    ("```Python3 extra words\nx\n```", ("python3", "x\n")),
    ("```\n```", ("", "")),
    ("``` \t c++ \ncode", ("c++", "code")),
    ("```python", None), ("no fence", None), ("", None),
])
def test_fence_finder_semantics(text, want):
    from infscale.verify.common import first_fenced_block
    assert first_fenced_block(text) == want
