"""Math verifier (GSM8K, MATH, and datasets added by config): extract the final answer in the format the prompt
asked for, then check it against the reference.

Extraction (`extract`), strict by default: an answer counts only in the format of the dataset's prompt style,
as the Monkeys checkers (Brown et al. 2024, arXiv 2407.21787) accept only the formatted answer:
- `gsm8k`: the number after the first `####` (GSM8K's answer line, Cobbe et al. 2021);
- `minerva`: "Final Answer: The final answer is X. I hope it is correct." (Lewkowycz et al. 2022, Minerva);
- any other style: the last `\\boxed{}`, `\\fbox{}` or `\\framebox{}`, braces balanced (Hendrycks et al. 2021).
With `verifier.extraction: lenient` a sample without that format falls back to any other answer format, then to
the last number in the text. Every verdict records how its answer was found: `extraction` is format, fallback or
none.

Equivalence (`Checker`): when the reference is one number (with an optional unit), the answer is read by
`numbers.parse` and compared exactly or within the dataset's tolerance (`numbers.match`); anything else goes to
math-verify, after `numbers.for_math_verify` rewrites scientific notation it would misread.

Each distinct (problem, extracted answer) pair is checked once and the result reused for every sample that
repeats it (with 10⁴ samples per problem most answers repeat); each reference is parsed once per problem. An
answer that would go to math-verify but shares no bucket key (infscale.answers: exact rationals, the canonical
numeric form of the expression, normalised strings) with the reference's parse is wrong without a math-verify
call (`Reference.may_equal`): the long tail of distinct wrong answers costs a key each, not a parse and a check.
The verdicts are the per-sample loop's (`cache: false`), checked on the equivalence set and in
bench/bench_verify_scale.py.
Statuses: correct, wrong, no_answer (nothing extracted), timeout (math-verify's time limit, `verifier.timeout_s`),
verifier_error (the checker failed on that answer, or the problem's reference cannot be parsed: logged once).
"""

from __future__ import annotations

import logging
import re
import threading
import time

import pandas as pd

from .. import answers
from ..contracts import EXTRACTIONS
from ..problems import last_boxed
from ..config import schema_default, with_defaults
from . import numbers

log = logging.getLogger(__name__)

VERIFIER = "math-verify"
# math-verify's time limit per parse or comparison: the schema's datasets.<d>.verifier.timeout_s default
DEFAULT_TIMEOUT_S = schema_default("datasets", "*", "verifier", "timeout_s")

_GSM = re.compile(r"####\s*(?:\*\*)?\s*\\?\$?\s*([-+−]?\s*(?:\d[\d,]*(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?(?:\s*/\s*\d+)?)")
_MINERVA = re.compile(r"(?:Final Answer:\s*)?The final answer is:?\s*(.+?)\s*(?:\.?\s*I hope it is correct|\n|$)",
                      re.IGNORECASE)
_FINAL = re.compile(r"final answer is[:\s]*(.+?)(?:\.\s*I hope it is correct|\n|$)", re.IGNORECASE)
_ANSWER_IS = re.compile(r"answer is[:\s]*(.+?)(?:\n|$)", re.IGNORECASE)
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?(?:/\d+)?")
_BOXED_ONLY = re.compile(r"^\\(?:boxed|fbox|framebox)\s*\{")


def _clean(ans: str) -> str:
    ans = ans.strip().strip("$").strip()
    ans = re.sub(r"\.$", "", ans).strip()
    if _BOXED_ONLY.match(ans):
        ans = last_boxed(ans) or ans
    return ans


def _gsm8k(text: str) -> str | None:
    m = _GSM.search(text)
    return m.group(1).replace(" ", "").replace("−", "-").rstrip(",.") if m else None


def _minerva(text: str) -> str | None:
    m = _MINERVA.search(text)
    return (_clean(m.group(1)) or None) if m else None


def _boxed(text: str) -> str | None:
    b = last_boxed(text)
    return (_clean(b) or None) if b else None


_FORMATS = {"gsm8k": _gsm8k, "minerva": _minerva}


def _any_format(text: str) -> str | None:
    """Any of the answer formats: last \\boxed{}, else '####', else 'final answer is'."""
    return _boxed(text) or _gsm8k(text) or _minerva(text)


def _lenient(text: str) -> str | None:
    """Today's permissive chain: any format, else 'answer is …', else the last number in the text."""
    got = _any_format(text)
    if got:
        return got
    for rx in (_FINAL, _ANSWER_IS):
        found = rx.findall(text)
        if found and _clean(found[-1]):
            return _clean(found[-1])
    found = _NUMBER.findall(text)
    return found[-1].replace(",", "") if found else None


def extract(text: str, style: str | None = "plain", lenient: bool = False) -> tuple[str | None, str]:
    """(answer, how): the answer in the prompt style's format ("format"); with `lenient`, else any other format
    or the last number ("fallback"); else (None, "none"). `style=None` accepts any of the formats."""
    if not isinstance(text, str) or not text.strip():
        return None, "none"
    fmt = _any_format if style is None else _FORMATS.get(style, _boxed)
    got = fmt(text)
    if got:
        return got, "format"
    if lenient:
        got = _lenient(text)
        if got:
            return got, "fallback"
    return None, "none"


def extract_answer(text: str, style: str | None = None, lenient: bool = False) -> str | None:
    """The sample's final answer (see `extract`), or None."""
    return extract(text, style, lenient)[0]


# -- equivalence ---------------------------------------------------------------------------------------------
class Timeout(Exception):
    """math-verify ran out of time on one comparison."""


class ReferenceError_(ValueError):
    """A problem's reference cannot be parsed."""


def _mv():
    from math_verify import parse, verify
    from math_verify.errors import TimeoutException
    return parse, verify, TimeoutException


def _limit(timeout_s: int) -> int | None:
    """math-verify's timeout uses SIGALRM, which only the main thread may set; elsewhere it runs unlimited."""
    return timeout_s if threading.current_thread() is threading.main_thread() else None


def mv_parse(text: str, timeout_s: int = DEFAULT_TIMEOUT_S):
    """math-verify's parse of an answer string as the verifier reads it (`numbers.for_math_verify` first).
    Raises Timeout, or math-verify's error on an answer it fails on."""
    parse, _, TimeoutException = _mv()
    timeout_s = _limit(timeout_s)
    try:
        return parse(f"${numbers.for_math_verify(text)}$", parsing_timeout=timeout_s, raise_on_error=True)
    except TimeoutException as e:
        raise Timeout(f"parsing took over {timeout_s} s") from e


def mv_verify(gold, pred, timeout_s: int = DEFAULT_TIMEOUT_S) -> bool:
    """math-verify's comparison of two parses; Timeout when it runs out of time, False when it cannot compare."""
    _, verify, TimeoutException = _mv()
    try:
        return bool(verify(gold, pred, timeout_seconds=_limit(timeout_s), raise_on_error=True))
    except TimeoutException as e:
        raise Timeout(f"comparison took over {timeout_s} s") from e
    except Exception:  # noqa: BLE001 - math-verify's own answer for a comparison it cannot make: not equal
        return False


def _parsed(objs) -> bool:
    return any(not isinstance(o, str) for o in objs or [])


class Reference:
    """One problem's reference, parsed once: a number with a unit (numbers.parse), or math-verify's parse."""

    def __init__(self, text, timeout_s: int = DEFAULT_TIMEOUT_S):
        if not isinstance(text, str) or not text.strip():
            raise ReferenceError_(f"empty reference {text!r}")
        self.text = _clean(text)
        self.quantity = numbers.parse(self.text)
        self._gold = None
        self._keys = None
        self.timeout_s = timeout_s
        if self.quantity is None:
            if not _parsed(self.gold):
                raise ReferenceError_(f"math-verify cannot read reference {self.text[:80]!r}")

    @property
    def gold(self):
        if self._gold is None:
            self._gold = mv_parse(self.text, self.timeout_s)
        return self._gold

    def may_equal(self, answer: str, cache) -> bool:
        """False only when `equivalent(self, answer)` is certainly False without running math-verify: the answer
        is not a number compared by numbers.match, does not equal the reference as a bare string, and shares no
        bucket key (infscale.answers) with the reference's parse. Errors of the answer's parse propagate."""
        if self.quantity is not None and numbers.parse(answer) is not None:
            return True
        if _bare(self.text) == _bare(answer):
            return True
        if not _parsed(self.gold):
            return True           # equivalent() parses the answer (which may fail) and compares bare strings
        if self._keys is None:
            self._keys = answers.parsed_keys(self.gold)
        return answers.may_equal(self._keys, numbers.for_math_verify(answer), cache)


def equivalent(reference, answer: str, *, rel_tol: float | None = None, abs_tol: float | None = None,
               timeout_s: int = DEFAULT_TIMEOUT_S) -> bool:
    """Is `answer` the reference? Numbers (with units) by numbers.match, anything else by math-verify.

    Raises Timeout when math-verify runs out of time. `reference` is a string or a parsed Reference.
    """
    ref = reference if isinstance(reference, Reference) else Reference(reference, timeout_s)
    if ref.quantity is not None:
        q = numbers.parse(answer)
        if q is not None:
            return numbers.match(ref.quantity, q, rel_tol, abs_tol)
    pred = mv_parse(answer, timeout_s)
    gold = ref.gold
    if not _parsed(gold) or not _parsed(pred):
        return _bare(ref.text) == _bare(answer)
    return mv_verify(gold, pred, timeout_s)


def _bare(s: str) -> str:
    return s.strip().replace(",", "").replace(" ", "")


def options_of(options: dict) -> dict:
    """The math verifier's settings from a dataset's verify options (config.verify_options). A mapping built by
    hand gets the schema's defaults: datasets.<d>.verifier's, and verify.cache."""
    options = {"cache": schema_default("verify", "cache"), **with_defaults(options, "datasets", "*", "verifier")}
    mode = options["extraction"]
    if mode not in ("strict", "lenient"):
        raise ValueError(f"verifier.extraction must be strict or lenient, got {mode!r}")
    return {"cache": bool(options["cache"]), "lenient": mode == "lenient",
            "style": options.get("style"), "rel_tol": options.get("rel_tol"), "abs_tol": options.get("abs_tol"),
            "timeout_s": int(options["timeout_s"])}


def verify(problems: pd.DataFrame, samples: pd.DataFrame, options: dict, threads: int = 1) -> pd.DataFrame:
    opts = options_of(options)
    refs_text = dict(zip(problems["problem_id"], problems["reference"]))
    refs: dict[str, Reference | None] = {}
    cache: dict[tuple[str, str], str] = {}
    tol = {"rel_tol": opts["rel_tol"], "abs_tol": opts["abs_tol"], "timeout_s": opts["timeout_s"]}

    def reference(pid):
        if pid not in refs:
            try:
                refs[pid] = Reference(refs_text[pid], opts["timeout_s"])
            except (ReferenceError_, Timeout) as e:
                log.error("problem %s: reference cannot be parsed, its samples get verifier_error: %s", pid, e)
                refs[pid] = None
        return refs[pid]

    keycache = answers.EquivalenceCache(raise_errors=True, timeout_s=opts["timeout_s"])
    skipped = 0

    def check(pid, extracted, keyed=False):
        nonlocal skipped
        ref = reference(pid)
        if ref is None:
            return "verifier_error"
        try:
            if keyed:
                try:
                    if not ref.may_equal(extracted, keycache):
                        skipped += 1
                        return "wrong"
                except Exception:  # noqa: BLE001 - the answer's parse failed: the full check reports it
                    pass
            return "correct" if equivalent(ref, extracted, **tol) else "wrong"
        except Timeout as e:
            log.warning("math-verify timed out on %s %r: %s", pid, extracted[:80], e)
            return "timeout"
        except Exception as e:  # noqa: BLE001 - a bad answer must not lose the shard
            log.warning("math-verify failed on %s %r: %s", pid, extracted[:80], e)
            return "verifier_error"

    rows = []
    for pid, idx, text in zip(samples["problem_id"], samples["sample_index"], samples["text"]):
        t0 = time.perf_counter()
        try:
            extracted, how = extract(text, opts["style"], opts["lenient"])
            if extracted is None:
                status = "no_answer"
            elif opts["cache"]:
                key = (pid, extracted)
                status = cache.get(key)
                if status is None:
                    status = cache[key] = check(pid, extracted, keyed=True)
            else:
                status = check(pid, extracted)
        except Exception as e:  # noqa: BLE001
            log.warning("extraction failed on %s/%s: %s", pid, idx, e)
            extracted, how, status = None, "none", "verifier_error"
        rows.append((pid, int(idx), status == "correct", status, extracted, how, VERIFIER,
                     (time.perf_counter() - t0) * 1000.0, "none"))
    log.info("math verifier: %d samples, %d distinct answers, %d of them wrong by their keys (no math-verify)",
             len(rows), len(cache), skipped)
    assert {r[5] for r in rows} <= set(EXTRACTIONS)
    return pd.DataFrame(rows, columns=["problem_id", "sample_index", "correct", "status", "extracted", "extraction",
                                       "verifier", "elapsed_ms", "isolation"])
