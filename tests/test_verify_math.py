"""Math verifier: strict extraction by prompt style, exact numbers with units and tolerance, timeouts, bad
references, the answer cache, and the equivalence set tests/data/math_equivalence.jsonl through the real verifier."""
import json
import logging
from collections import Counter
from fractions import Fraction
from pathlib import Path

import pandas as pd
import pytest

from infscale.contracts import EXTRACTIONS, VERDICT_COLUMNS, VERDICT_STATUSES
from infscale.verify import numbers, verify_frames
from infscale.verify.math import equivalent, extract, extract_answer

DATA = Path(__file__).parent / "data" / "math_equivalence.jsonl"


# -- extraction -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, style, expected", [
    ("so the total is 9 eggs.\n#### 18", "gsm8k", ("18", "format")),
    ("#### 18\nQuestion: next one ... #### 7", "gsm8k", ("18", "format")),  # the answer line, not a continuation
    ("#### Step 1\nadd them\n#### **1,000**", "gsm8k", ("1,000", "format")),  # a markdown heading is no answer
    ("#### \\$18.50 dollars", "gsm8k", ("18.50", "format")),
    ("Thus $\\boxed{\\frac{1}{2}}$ is it. Then 7", "plain", ("\\frac{1}{2}", "format")),
    ("Final Answer: The final answer is $[2,5)$. I hope it is correct.", "minerva", ("[2,5)", "format")),
    ("Final Answer: The final answer is $\\boxed{3.5}$. I hope it is correct.", "minerva", ("3.5", "format")),
    ("The final answer is 42", "minerva", ("42", "format")),
    ("so \\boxed{\\textbf{(073)}}", "plain", ("\\textbf{(073)}", "format")),
    ("area is \\framebox{204} units", "plain", ("204", "format")),
    ("\\fbox{1} then \\boxed{\\{1, \\{2\\}\\}}", "plain", ("\\{1, \\{2\\}\\}", "format")),
    # no answer in the style's format: strict gives nothing, even when a number or another format is there
    ("She pays 3 + 4 = 7 dollars, so 1,000 in total", "gsm8k", (None, "none")),
    ("The answer is 42.", "plain", (None, "none")),
    ("so \\boxed{6}", "gsm8k", (None, "none")),
    ("#### 6", "minerva", (None, "none")),
    ("", "plain", (None, "none")),
])
def test_strict_extraction_by_style(text, style, expected):
    assert extract(text, style) == expected


@pytest.mark.parametrize("text, style, expected", [
    ("She pays 3 + 4 = 7 dollars, so 1,000 in total", "gsm8k", ("1000", "fallback")),
    ("The answer is 42.", "plain", ("42", "fallback")),
    ("so \\boxed{6}", "gsm8k", ("6", "fallback")),
    ("#### 18", "gsm8k", ("18", "format")),
    ("no digits at all", "plain", (None, "none")),
])
def test_lenient_extraction_is_marked_fallback(text, style, expected):
    assert extract(text, style, lenient=True) == expected


def test_extract_answer_without_style_takes_any_format_but_never_a_bare_number():
    assert extract_answer("#### 5") == "5" and extract_answer("\\boxed{5}") == "5"
    assert extract_answer("the result is 5") is None


# -- numbers --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, value", [
    ("4.5e33", Fraction(45 * 10**32)), ("4.5E+33", Fraction(45 * 10**32)), ("4.5 \\times 10^{33}", Fraction(45 * 10**32)),
    ("4.5\\cdot10^{33}", Fraction(45 * 10**32)), ("10^{-3}", Fraction(1, 1000)), ("1,234,567", Fraction(1234567)),
    ("1{,}000", Fraction(1000)), ("72.0", Fraction(72)), ("073", Fraction(73)), ("\\textbf{(073)}", Fraction(73)),
    ("-1./3", Fraction(-1, 3)), ("-1./4", Fraction(-1, 4)), ("\\frac{-1}{3}", Fraction(-1, 3)),
    ("-\\dfrac{2}{3}", Fraction(-2, 3)), ("\\$18.90", Fraction(1890, 100)), ("x = 5", Fraction(5)),
    ("$-7$", Fraction(-7)), ("−3", Fraction(-3)),
])
def test_numbers_read_exactly(text, value):
    assert numbers.parse(text).value == value


@pytest.mark.parametrize("text", ["2\\sqrt{3}", "(1,2)", "x+1", "\\pi", "1e999999", "5 x", "[2,5)"])
def test_not_a_plain_number(text):
    assert numbers.parse(text) is None


@pytest.mark.parametrize("text, unit", [
    ("5\\text{ nm}", "nm"), ("3 \\mathrm{kg}", "kg"), ("2 s", "s"), ("6e14 Hz", "Hz"), ("13.6 eV", "eV"),
    ("2 J", "J"), ("300 K", "K"), ("25\\%", "%"), ("30^\\circ", "°"), ("30^{\\circ}", "°"), ("30°", "°"),
    ("9.8 \\text{ m/s}^2", "m·s^-2"), ("1 \\mu m", "μm"),
])
def test_units_are_read(text, unit):
    q = numbers.parse(text)
    assert q is not None and q.unit is not None and q.unit.name == unit


@pytest.mark.parametrize("ref, ans, ok", [
    ("0.5", "\\frac{1}{2}", True),
    ("72", "72.00", True),
    ("18", "19", False),
    ("\\left( 3, \\frac{\\pi}{2} \\right)", "(3, \\pi/2)", True),
    ("(1,2)", "(2,1)", False),
    ("4.5e33", "4.5 \\times 10^{33}", True), ("4.5 \\times 10^{33}", "4.5e33", True),
    ("4.5e33", "4.5e32", False), ("4.5e33", "4.5 e 33", True),
    ("-\\frac{1}{3}", "-1./3", True), ("-\\frac{1}{3}", "-1./4", False), ("-1./3", "-1./4", False),
    ("73", "073", True), ("1000", "1,000", True), ("0.5", "50\\%", True), ("50\\%", "50", True),
    # units: the same dimension converts, a different dimension is wrong, a bare number is compared as written
    ("500 \\text{ nm}", "0.5 \\mu m", True), ("500 \\text{ nm}", "500 \\mathrm{kg}", False),
    ("500 \\text{ nm}", "500", True), ("500 \\text{ nm}", "500 m", False), ("3 \\text{ kg}", "3000 g", True),
    ("13.6 eV", "13.6 \\text{ J}", False), ("300 K", "26.85^\\circ C", True), ("30^\\circ", "30 \\text{ s}", False),
    ("5", "5 \\text{ apples}", True), ("5 \\text{ kg}", "5 \\text{ apples}", False),
    # tolerance: integers and fractions exact, float printouts match correct roundings to >= 2 decimals
    ("14053029.666666666", "14053029.67", True), ("14053029.666666666", "14053029.7", False),
    ("14053029.666666666", "14053029.76", False), ("14053029.666666666", "14053030", False),
    ("0.3", "0.30000000000000004", True), ("\\frac{2}{3}", "0.67", False), ("0.125", "0.13", False),
    ("1000000", "1000001", False),
])
def test_equivalent(ref, ans, ok):
    assert equivalent(ref, ans) is ok


def test_explicit_tolerance():
    assert not equivalent("4.52e33", "4.5e33")
    assert equivalent("4.52e33", "4.5e33", rel_tol=0.01)
    assert equivalent("100", "101", abs_tol=1) and not equivalent("100", "102", abs_tol=1)
    assert not equivalent("500 \\text{ nm}", "505 \\text{ kg}", rel_tol=0.05)  # tolerance never crosses dimensions


# -- verify() -------------------------------------------------------------------------------------------------
def _frames(texts, refs=("18", "\\frac{1}{2}")):
    problems = pd.DataFrame({"problem_id": [f"p{i + 1}" for i in range(len(refs))], "question": "q", "domain": "math",
                             "reference": list(refs)})
    samples = pd.DataFrame({
        "problem_id": [t[0] for t in texts], "sample_index": range(len(texts)), "text": [t[1] for t in texts],
        "prompt_tokens": 10, "completion_tokens": 5, "finish_reason": "stop", "seed": 1})
    return problems, samples


def test_verify_frames_statuses_and_contract():
    problems, samples = _frames([("p1", "#### 18"), ("p1", "#### 17"), ("p1", "I give up"),
                                 ("p2", "\\boxed{0.5}"), ("p2", "\\boxed{1/2}"), ("p1", "#### 18"),
                                 ("p1", "rambling ... running 18")])
    v = verify_frames(problems, samples)
    assert list(v.columns[: len(VERDICT_COLUMNS)]) == VERDICT_COLUMNS
    assert VERDICT_COLUMNS.index("extraction") == VERDICT_COLUMNS.index("extracted") + 1
    assert v["status"].tolist() == ["correct", "wrong", "no_answer", "correct", "correct", "correct", "no_answer"]
    assert v["correct"].tolist() == [True, False, False, True, True, True, False]
    assert v["extraction"].tolist() == ["format", "format", "none", "format", "format", "format", "none"]
    assert (v["verifier"] == "math-verify").all()


def test_lenient_counts_guesses_but_marks_them():
    problems, samples = _frames([("p1", "#### 18"), ("p1", "rambling ... running 18")])
    v = verify_frames(problems, samples, {"style": "gsm8k", "extraction": "lenient"})
    assert v["status"].tolist() == ["correct", "correct"]
    assert v["extraction"].tolist() == ["format", "fallback"]
    strict = verify_frames(problems, samples, {"style": "gsm8k"})
    assert strict["status"].tolist() == ["correct", "no_answer"]


def test_cache_gives_same_verdicts_as_no_cache():
    problems, samples = _frames([("p1", f"#### {x}") for x in (18, 18, 17, 18, 16)] + [("p2", "\\boxed{0.5}")] * 3)
    cached = verify_frames(problems, samples, {"cache": True})
    uncached = verify_frames(problems, samples, {"cache": False})
    pd.testing.assert_frame_equal(cached.drop(columns="elapsed_ms"), uncached.drop(columns="elapsed_ms"))


def test_verifier_crash_gets_a_status(monkeypatch):
    import infscale.verify.math as vm

    def boom(ref, ans, **kw):
        raise RuntimeError("checker exploded")

    monkeypatch.setattr(vm, "equivalent", boom)
    problems, samples = _frames([("p1", "#### 18"), ("p1", "nothing")])
    v = verify_frames(problems, samples)
    assert v["status"].tolist() == ["verifier_error", "no_answer"]


def test_math_verify_timeout_is_recorded_as_timeout():
    # a real math-verify run that cannot finish: sympy evaluating a power tower against the reference 3
    problems, samples = _frames([("p1", "\\boxed{2^{2^{2^{2^{2^{2}}}}}}"), ("p1", "\\boxed{3}"), ("p1", "\\boxed{18}")],
                                refs=("3",))
    v = verify_frames(problems, samples, {"timeout_s": 1})
    assert v["status"].tolist() == ["timeout", "correct", "wrong"]
    assert not v["correct"].iloc[0]
    assert "timeout" in VERDICT_STATUSES


def test_unparseable_reference_is_a_verifier_error_logged_once(caplog):
    problems, samples = _frames([("p1", "\\boxed{1}"), ("p1", "\\boxed{2}"), ("p1", "\\boxed{2}"), ("p2", "\\boxed{5}")],
                                refs=("\\frac{", "5"))
    with caplog.at_level(logging.ERROR, logger="infscale.verify.math"):
        v = verify_frames(problems, samples)
    assert v["status"].tolist() == ["verifier_error"] * 3 + ["correct"]
    named = [r for r in caplog.records if "p1" in r.getMessage()]
    assert len(named) == 1 and "reference" in named[0].getMessage()


# -- the equivalence set ----------------------------------------------------------------------------------------
def test_equivalence_set_through_the_real_verifier():
    """Gold forms and rewritings accepted >= 99%, near-misses rejected >= 99%, no-format guesses never correct."""
    rows = [json.loads(line) for line in DATA.open()]
    kinds = Counter(r["kind"] for r in rows)
    assert min(kinds[k] for k in ("gold", "rewrite", "near_miss", "guess")) >= 150
    assert {r["source"] for r in rows} >= {"gsm8k", "math", "math500", "aime", "gsm_hard", "minerva_ocw"}
    right = Counter()
    failures = []
    for style in sorted({r["style"] for r in rows}):
        sub = [r for r in rows if r["style"] == style]
        refs = sorted({r["reference"] for r in sub})
        pid = {x: f"p{i}" for i, x in enumerate(refs)}
        problems = pd.DataFrame({"problem_id": [pid[x] for x in refs], "question": "q", "domain": "math",
                                 "reference": refs})
        samples = pd.DataFrame({"problem_id": [pid[r["reference"]] for r in sub], "sample_index": range(len(sub)),
                                "text": [r["text"] for r in sub], "prompt_tokens": 1, "completion_tokens": 1,
                                "finish_reason": "stop", "seed": 0})
        v = verify_frames(problems, samples, {"style": style})  # the default config: strict extraction
        assert set(v["extraction"]) <= set(EXTRACTIONS)
        for r, status in zip(sub, v["status"]):
            good = (status == "correct") == (r["kind"] in ("gold", "rewrite"))
            right[r["kind"]] += good
            if not good:
                failures.append((r["kind"], r["reference"], r["answer"], status))
    rate = {k: right[k] / kinds[k] for k in kinds}
    assert rate["gold"] >= 0.99 and rate["rewrite"] >= 0.99, (rate, failures[:20])
    assert rate["near_miss"] >= 0.99, (rate, failures[:20])
    assert rate["guess"] == 1.0, failures  # 0% of no-format guesses counted correct
