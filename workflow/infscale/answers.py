"""Grouping a problem's extracted answers into classes of mathematically equivalent answers, in about linear time.

The reference grouping is pairwise: each new distinct answer joins the first class (in creation order) whose
representative math-verify finds equivalent, else it opens a new class. That costs one check per (answer, class)
pair, i.e. quadratic in the number of distinct answers (hours per problem at 10⁴ samples with a weak model).

Here each distinct answer is parsed once and gets *bucket keys* derived from what math-verify compares:
- numbers get an exact rational (plain integers, decimals, a/b, \\frac{a}{b}, \\dfrac12, percentages) read
  without a parser; their key is the value on a 10⁻⁶ grid (math-verify rounds floats to 6 decimals);
- everything else is parsed once with math-verify; a scalar expression is evaluated at fixed pseudo-random
  values of its free symbols (a canonical numeric form of the simplified expression: expressions that
  simplify to the same thing evaluate to the same number) and keyed the same way; math-verify's normalised
  string, symbol names (lower-cased, as math-verify compares them), the right-hand side of an equation, and for
  sets / intervals / tuples the size plus the sum of the elements' values give further keys;
- whatever cannot be keyed (unevaluable functions, matrices, unions, …) is a wildcard that is compared with
  every class, as before.
A new answer is then checked with math-verify only against the classes that share a key with it, in creation
order, so the classes are exactly the pairwise ones as long as math-verify never calls two answers equivalent
that share no key (the keys are deliberately coarse: neighbouring grid cells are looked up too).
tests/data/answer_equivalence.csv holds the equivalent forms the test compares against the pairwise grouping.
"""

from __future__ import annotations

import hashlib
import math
import re
import threading
from fractions import Fraction

import numpy as np

GRID = 10 ** 6          # math-verify compares floats rounded to 6 decimals (verify(float_rounding=6))
_BIG = 1e9              # beyond this, key by binary exponent (relative grid) instead of the absolute grid
ANY, WILD = ("any",), ("wild",)

_INT = re.compile(r"^[+-]?\d+$")
_SLASH = re.compile(r"^([+-]?)(\d+)/(\d+)$")
_FRAC = re.compile(r"^([+-]?)\\[dt]?frac(?:\{(\d+)\}\{(\d+)\}|(\d)(\d))$")
_DEC = re.compile(r"^[+-]?\d*\.\d+$")
_PCT = re.compile(r"^([+-]?\d*\.?\d+)\s*\\?%$")


def _timeout():
    # math-verify's timeouts use signal.alarm, which only works on the main thread
    return 5 if threading.current_thread() is threading.main_thread() else None


class EquivalenceCache:
    """Pairwise math-verify checks between answer strings, cached, each answer parsed once (a parse costs
    ~0.7 ms, a check on parsed answers ~0.01–3 ms). `checks` counts the math-verify calls."""

    def __init__(self):
        self._parsed: dict[str, list] = {}
        self._pairs: dict[tuple[str, str], bool] = {}
        self.checks = 0

    def parse(self, s: str) -> list:
        if s not in self._parsed:
            from math_verify import parse
            p = parse(f"${s}$", parsing_timeout=_timeout())
            if not p:
                p = parse(s, parsing_timeout=_timeout())
            self._parsed[s] = p
        return self._parsed[s]

    def equivalent(self, a: str, b: str) -> bool:
        if a == b:
            return True
        key = (a, b) if a < b else (b, a)
        if key not in self._pairs:
            from math_verify import verify
            pa, pb = self.parse(key[0]), self.parse(key[1])
            ok = bool(pa and pb and verify(pa, pb, timeout_seconds=_timeout()))
            self.checks += 1
            self._pairs[key] = ok
        return self._pairs[key]


# ---- keys ---------------------------------------------------------------------------------------------------

def _num_keys(v: float) -> tuple[set, set]:
    """(store, lookup) keys of a real value: its cell on the 10⁻⁶ grid; lookups also try the neighbours (two
    values that round to the same 6 decimals differ by < 10⁻⁶, plus float error)."""
    if not math.isfinite(v):
        k = ("v", str(v))
        return {k}, {k}
    if abs(v) >= _BIG:
        e = math.frexp(abs(v))[1]
        s = 1 if v > 0 else -1
        return {("vb", s, e)}, {("vb", s, e + d) for d in (-1, 0, 1)}
    q = math.floor(v * GRID)
    return {("v", q)}, {("v", q + d) for d in (-2, -1, 0, 1, 2)}


def _exact_keys(x: Fraction) -> tuple[set, set]:
    if abs(x) >= _BIG:
        return _num_keys(float(x))
    q = math.floor(x * GRID)
    return {("v", q)}, {("v", q + d) for d in (-2, -1, 0, 1, 2)}


def fast_number(s: str) -> tuple[Fraction, str] | None:
    """Exact value and kind of a plain number string, read without a parser: kind 'rational' for integers and
    fractions (math-verify parses them to exact sympy rationals), 'decimal', 'percent'; None otherwise."""
    if _INT.match(s):
        return Fraction(int(s)), "rational"
    m = _SLASH.match(s)
    if m and int(m.group(3)):
        return Fraction(int(m.group(2)), int(m.group(3))) * (-1 if m.group(1) == "-" else 1), "rational"
    m = _FRAC.match(s)
    if m:
        num, den = (m.group(2), m.group(3)) if m.group(2) is not None else (m.group(4), m.group(5))
        if int(den):
            return Fraction(int(num), int(den)) * (-1 if m.group(1) == "-" else 1), "rational"
        return None
    if _DEC.match(s):
        return Fraction(s), "decimal"
    m = _PCT.match(s)
    if m:
        return Fraction(m.group(1)), "percent"
    return None


def _symbol_value(name: str) -> float:
    """A fixed pseudo-random value in (0.31, 0.93) per symbol name (far from 0, 1 and branch cuts)."""
    h = int.from_bytes(hashlib.blake2b(name.encode(), digest_size=4).digest(), "big")
    return 0.31 + 0.62 * (h / 2 ** 32) + 1e-7 * math.pi


# ---- a light reader for the common LaTeX forms (math-verify's LaTeX parser costs ~10 ms per answer) ---------

_TOKEN = re.compile(r"\\[dt]?frac|\\sqrt|\\pi|\\cdot|\\times|\\left|\\right|\d+(?:\.\d+)?|\.\d+|[a-df-hj-z]|[-+^(){}\[\]]")
_LIGHT_OK = re.compile(r"^(?:\\[dt]?frac|\\sqrt|\\pi|\\cdot|\\times|\\left|\\right|[0-9a-df-hj-z.+\-^(){}\[\]=,]|\\\{|\\\})+$")


_TEXT = re.compile(r"\\text\{([A-Za-z]{3,20})\}")
# words latex2sympy may read as constants or operators (\text{pi} is π): left to math-verify's parser
_TEXT_SPECIAL = {"pi", "infty", "inf", "infinity", "oo", "nan", "zoo", "true", "false", "and", "or", "not", "mod",
                 "emptyset", "empty", "undefined", "none", "null", "sin", "cos", "tan", "log", "exp", "sqrt", "deg",
                 "degree", "degrees", "cm", "km", "mm", "kg", "mph", "ln", "max", "min", "gcd", "lcm"}


class _Unreadable(Exception):
    pass


class _Reader:
    """Recursive descent over + − · × ^ \\frac \\sqrt \\pi, numbers, one-letter symbols (not e or i, which math-verify
    reads as constants) and implicit products; evaluates in floats at the fixed symbol values. Anything else
    raises _Unreadable and the answer goes to math-verify's parser."""

    def __init__(self, s: str):
        self.toks = _TOKEN.findall(s)
        if "".join(self.toks) != s:
            raise _Unreadable(s)
        self.toks = [t for t in self.toks if t not in ("\\left", "\\right")]
        self.i = 0
        self.letters: list[str] = []

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, want=None):
        t = self.peek()
        if t is None or (want is not None and t != want):
            raise _Unreadable(want)
        self.i += 1
        return t

    def expr(self) -> float:
        sign = -1.0 if self.peek() == "-" else 1.0
        if self.peek() in ("+", "-"):
            self.take()
        v = sign * self.term()
        while self.peek() in ("+", "-"):
            v = v + self.term() if self.take() == "+" else v - self.term()
        return v

    def term(self) -> float:
        v = self.factor()
        while True:
            t = self.peek()
            if t in ("\\cdot", "\\times"):
                self.take()
                v *= self.factor()
            elif t is not None and (t[0].isalpha() or t in ("(", "{", "\\frac", "\\dfrac", "\\tfrac", "\\sqrt", "\\pi")):
                v *= self.factor()
            elif t is not None and (t[0].isdigit() or t[0] == "."):
                raise _Unreadable("number after a factor")  # "2 3" or "x2": ambiguous
            else:
                return v

    def factor(self) -> float:
        v = self.atom()
        if self.peek() == "^":
            self.take()
            e = self.atom(exponent=True)
            if self.peek() == "^" or (v < 0 and e != int(e)) or (v == 0 and e < 0):
                raise _Unreadable("power")
            v = v ** e
        return v

    def group(self) -> float:
        self.take("{")
        v = self.expr()
        self.take("}")
        return v

    def atom(self, exponent: bool = False) -> float:
        t = self.take()
        if t[0].isdigit() or t[0] == ".":
            if exponent and len(t) > 1:
                raise _Unreadable("x^23: which digits are the exponent")
            return float(t)
        if t.isalpha() and len(t) == 1:
            self.letters.append(t)
            return _symbol_value(t)
        if t == "\\pi":
            return math.pi
        if t == "(":
            v = self.expr()
            self.take(")")
            return v
        if t == "{":
            self.i -= 1
            return self.group()
        if t in ("\\frac", "\\dfrac", "\\tfrac"):
            if self.peek() == "{":
                num = self.group()
                den = self.group() if self.peek() == "{" else self._digit()
            else:
                num, den = self._digit(), self._digit()
            if den == 0:
                raise _Unreadable("division by zero")
            return num / den
        if t == "\\sqrt":
            if self.peek() == "[":
                raise _Unreadable("root index")
            v = self.group() if self.peek() == "{" else self._digit()
            if v < 0:
                raise _Unreadable("complex")
            return math.sqrt(v)
        raise _Unreadable(t)

    def _digit(self) -> float:
        t = self.take()
        if not t.isdigit():
            raise _Unreadable(t)
        if len(t) > 1:
            raise _Unreadable("\\frac12-style argument with several digits")
        return float(t)


def _light_value(s: str) -> tuple[float, list[str]]:
    r = _Reader(s)
    v = r.expr()
    if r.peek() is not None or not math.isfinite(v):
        raise _Unreadable(s)
    return v, r.letters


def light_keys(s: str) -> tuple[set, set] | None:
    """(store, lookup) keys of a common LaTeX answer read without math-verify's parser, or None when the answer is
    outside the light grammar: an expression; `x = expr` (an assignment: keyed by its right-hand side, like
    math-verify's unwrapping); (a, b), [a, b], (a, b], (a, b, c) (an interval or tuple: size and sum)."""
    m = _TEXT.fullmatch(s)
    if m and m.group(1).lower() not in _TEXT_SPECIAL:   # math-verify: \text{Yes} is the symbol "yes"
        name = m.group(1).lower()
        store, look = _num_keys(_symbol_value(name))
        return store | {("sym", name)}, look | {("sym", name)}
    s = s.replace(" ", "") if not re.search(r"[\d.]\s+[\d.]", s) else None
    if not s or not _LIGHT_OK.match(s) or s.count("=") > 1 or re.search(r"[a-z]\(", s):  # f(x): a function?
        return None
    try:
        if "=" in s:
            lhs, rhs = s.split("=")
            if not re.fullmatch(r"[a-df-hj-z]", lhs) or "," in rhs:
                return None
            store, look = light_keys(rhs) or (None, None)
            if store is None:
                return None
            return store | {("relall",)}, look | {("rel*",)}
        m = re.fullmatch(r"(\(|\[|\\\{)(.*)(\)|\]|\\\})", s)
        if "," in s:
            if not m or (m.group(1) == "\\{") != (m.group(3) == "\\}") or any(c in m.group(2) for c in "()[]{}"):
                return None
            parts = m.group(2).split(",")
            if len(parts) < 2:   # inside brackets a comma separates ("(1,000)" is the pair (1, 0) to math-verify)
                return None
            if m.group(1) == "\\{":
                return None   # a set drops repeated elements: leave it to math-verify's parser
            vals = [_light_value(p)[0] for p in parts]
            n = len(vals)
            same = (m.group(1), m.group(3)) in (("(", ")"), ("[", "]"))
            if n == 2 and (abs(vals[0] - vals[1]) < 1e-9 or (vals[0] > vals[1] and not same)):
                return None   # math-verify: [3,3] is {3}, [5,3) is empty; (5,3) and [5,3] are tuples
            opens = (m.group(1) == "(", m.group(3) == ")")
            tag = "o" if n != 2 or vals[0] > vals[1] or opens == (True, True) else opens  # see _values_keys
            keys = _values_keys(vals, ordered=True, tag=tag)
            if keys is None:
                return None
            return keys[0] | {("setall",)}, keys[1] | {("rel*",)}
        if s[0] == "[" or s[-1] == "]" or "\\{" in s:
            return None
        v, letters = _light_value(s)
    except (_Unreadable, ValueError, OverflowError, ZeroDivisionError):
        return None
    store, look = _num_keys(v)
    if letters and re.fullmatch(r"[a-df-hj-z]+", s):   # a product of symbols: math-verify also compares names
        store = store | {("sym", s.lower())}
        look = look | {("sym", s.lower())}
    return store, look


def _value(expr) -> float | None:
    """Real part of the expression evaluated at the fixed symbol values; None if it does not evaluate."""
    import sympy
    try:
        free = expr.free_symbols
        e = expr.subs({s: sympy.Float(_symbol_value(s.name), 30) for s in free}) if free else expr
        v = e.evalf(30)
        if v in (sympy.oo, -sympy.oo):
            return float(v)
        if not v.is_number or v.has(sympy.nan, sympy.zoo):
            return None
        c = complex(v)
        return c.real if math.isfinite(c.real) else None
    except Exception:  # noqa: BLE001 - anything that does not evaluate is a wildcard
        return None


def _values_keys(vals: list[float], ordered: bool, tag="o") -> tuple[set, set] | None:
    """Keys of n ≥ 2 finite values. Unordered (a set, a list of solutions): the size and the sum (element-wise
    equal within 10⁻⁶ each, in any order: the sums differ by < n·10⁻⁶). Ordered (tuple, interval endpoints, up to
    3 elements): the grid cell of each element and the bracket `tag` ("o" for tuples and open intervals, which
    math-verify compares element-wise; (left_open, right_open) for other intervals), and the sum for the sets.
    None when the sum is too large."""
    n, total = len(vals), sum(vals)
    if abs(total) >= _BIG:
        return None
    q = math.floor(total / (n * 1e-6))
    sums = {q + d for d in (-2, -1, 0, 1, 2)}
    if not ordered or n > 3 or any(abs(v) >= _BIG for v in vals):
        return ({("coll", n, q), ("collall", n)},
                {("coll", n, x) for x in sums} | {("collo", n, x) for x in sums} | {("coll*", n)})
    cells = [math.floor(v * GRID) for v in vals]
    near = [()]
    for c in cells:
        near = [t + (c + d,) for t in near for d in (-2, -1, 0, 1, 2)]
    return ({("ocoll", n, tag, tuple(cells)), ("collo", n, q), ("collall", n)},
            {("ocoll", n, tag, t) for t in near} | {("coll", n, x) for x in sums} | {("coll*", n)})


def _collection_keys(elems: list, depth: int, ordered: bool = False, tag="o") -> tuple[set, set]:
    """Keys of a set / tuple / interval (its endpoints) / list of solutions: a singleton equals its element; else
    _values_keys; elements that do not evaluate make it compare with every collection of its size."""
    import sympy
    from sympy import Mul, UnevaluatedExpr

    n = len(elems)
    if n == 1:
        return _sympy_keys(elems[0], depth + 1)
    vals = [_value(e) for e in elems]
    pct = any(isinstance(e, Mul) and UnevaluatedExpr(sympy.Rational(1, 100)) in e.args for e in elems)
    keys = None
    if not pct and all(v is not None and math.isfinite(v) for v in vals):
        keys = _values_keys(vals, ordered, tag)
    return keys or ({("coll*", n), ("collall", n)}, {("collall", n)})


def _relation_keys(expr, depth: int) -> tuple[set, set]:
    """Keys of a relation (math-verify: an equation equals its last right-hand side; two relations are equal when
    their differences match, flipped or not, or their solutions do; a relation equals a set when its solution set
    does). An equation in one symbol is keyed by its right-hand sides and its solutions; any other relation
    (inequalities, several symbols) is compared with every relation and every set ("rel*")."""
    import sympy
    from sympy import Eq, Symbol
    from sympy.core.relational import Relational

    rels = list(expr._unsorted_args) if isinstance(expr, sympy.And) else [expr]
    if not rels or not all(isinstance(r, Relational) for r in rels):
        return {WILD}, {ANY}
    store, look = {("relall",)}, {("rel*",)}
    free = expr.free_symbols
    for r in rels:                       # every right-hand side (the last one is what math-verify unwraps)
        s, lk = _sympy_keys(r.rhs, depth + 1)
        store |= s
        look |= lk
    if all(isinstance(r, Eq) for r in rels) and len(free) == 1:
        sym = next(iter(free))
        last = rels[-1]
        if len(rels) == 1 and isinstance(last.lhs, Symbol) and sym not in last.rhs.free_symbols:
            return store, look           # an assignment x = c: its solution is the right-hand side
        try:
            sols = sympy.solve(rels, sym, dict=False)
            if isinstance(sols, dict):
                sols = list(sols.values())
            if sols and isinstance(sols, list) and all(isinstance(x, sympy.Basic) for x in sols):
                s, lk = _collection_keys(list(sols), depth)
                return store | s, look | lk
        except Exception:  # noqa: BLE001 - unsolvable: compared with every relation below
            pass
    return store | {("rel*",)}, look | {("relall",), ("setall",)}


def _sympy_keys(expr, depth: int = 0) -> tuple[set, set]:
    """(store, lookup) keys of one parsed sympy object. Invariant: if math-verify finds two answers equivalent,
    one's lookup keys meet the other's store keys. A wildcard stores WILD and looks up ANY (every class)."""
    import sympy
    from sympy import E, FiniteSet, Interval, Mul, Symbol, Tuple, UnevaluatedExpr
    from sympy.core.relational import Relational
    from sympy.logic.boolalg import And

    wild = ({WILD}, {ANY})  # compared with every class
    if depth > 3:
        return wild
    # relations: an equation also equals its last right-hand side; relations and sets compare with each other
    if isinstance(expr, (Relational, And)):
        return _relation_keys(expr, depth)
    if isinstance(expr, (FiniteSet, Tuple, Interval)):
        elems = [expr.start, expr.end] if isinstance(expr, Interval) else list(expr.args)
        tag = ("o" if not isinstance(expr, Interval) or (expr.left_open and expr.right_open)
               else (bool(expr.left_open), bool(expr.right_open)))
        store, look = _collection_keys(elems, depth, ordered=not isinstance(expr, FiniteSet), tag=tag)
        return store | {("setall",)}, look | {("rel*",)}
    if isinstance(expr, sympy.MatrixBase) or not isinstance(expr, sympy.Basic):
        return wild
    store, look = set(), set()
    # symbols: math-verify compares names (lower-cased), a product of symbols as its concatenation, E as "e"
    if isinstance(expr, Symbol):
        store.add(("sym", expr.name.lower()))
    elif expr == E:
        store.add(("sym", "e"))
    elif isinstance(expr, Mul) and all(a == E or isinstance(a, Symbol) for a in expr.args):
        store.add(("sym", "".join(a.name if isinstance(a, Symbol) else "e" for a in expr.args).lower()))
    look |= store
    # percentages: X% equals X/100 and, for integers, also X (math-verify's 9% == 9 rule)
    if isinstance(expr, Mul) and len(expr.args) == 2 and expr.args[1] == UnevaluatedExpr(sympy.Rational(1, 100)):
        s, lk = _sympy_keys(expr.args[0], depth + 1)
        store |= s
        look |= lk
    v = _value(expr)
    if v is None:
        return store | {WILD}, look | {ANY}
    s, lk = _num_keys(v)
    return store | s, look | lk


def _exact_tag(s: str, fast) -> tuple | None:
    """(kind, value, symbol) for answers whose math-verify verdict against each other is known exactly:
    kind int (a plain integer), frac (a fraction), pct (an integer percentage); symbol is set for an assignment
    `x = <int or fraction>` (math-verify compares it by its right-hand side)."""
    if fast is not None:
        x, kind = fast
        if kind == "rational":
            return ("int" if _INT.match(s) else "frac", x, None)
        if kind == "percent" and "." not in s:
            return ("pct", x, None)
        return None
    m = re.fullmatch(r"([a-df-hj-z])\s*=\s*(\S+)", s)
    if m:
        rhs = fast_number(m.group(2))
        if rhs is not None and rhs[1] == "rational":
            return ("int" if _INT.match(m.group(2)) else "frac", rhs[0], m.group(1))
    return None


def exact_same(t1: tuple, t2: tuple) -> bool | None:
    """math-verify's verdict on two tagged answers (see _exact_tag), or None when it is not known exactly:
    rationals are equal when their values are; an integer percentage Y% equals the integer Y (math-verify's
    integer-percent rule) and the non-integer fraction Y/100; two assignments to different symbols are unknown."""
    (k1, v1, s1), (k2, v2, s2) = t1, t2
    if s1 and s2 and s1 != s2:
        return None
    if k1 == "pct" and k2 == "pct":
        return v1 == v2
    if "pct" in (k1, k2):
        (ko, vo, _), p = (t2, v1) if k1 == "pct" else (t1, v2)
        if ko == "int":
            return vo == p
        if ko == "frac" and vo.denominator != 1:
            return vo == p / 100
        return None
    return v1 == v2


def answer_keys(s: str, cache: EquivalenceCache) -> tuple[set, set, tuple | None]:
    """(store keys, lookup keys, exact tag) of one distinct answer string (exact_same compares two tags without
    math-verify)."""
    fast = fast_number(s)
    tag = _exact_tag(s, fast)
    if fast is not None:
        x, kind = fast
        store, look = _exact_keys(x)
        if kind == "percent":
            s2, l2 = _exact_keys(x / 100)
            store, look = store | s2, look | l2
        return store | {ANY}, look | {WILD}, tag
    light = light_keys(s)
    if light is not None:
        return light[0] | {ANY}, light[1] | {WILD}, tag
    parsed = cache.parse(s)
    if not parsed:
        return {("unparsed", s)}, set(), None   # math-verify calls an unparsable answer equal to nothing else
    store, look = set(), set()
    for p in parsed:
        if isinstance(p, str):
            store.add(("str", p.strip()))
            look.add(("str", p.strip()))
        else:
            st, lk = _sympy_keys(p)
            store |= st
            look |= lk
    # every class can be found by a wildcard (ANY), every answer finds the wildcard classes (WILD)
    return store | {ANY}, look | {WILD}, tag


def answer_classes(answers, cache: EquivalenceCache | None = None, stats: dict | None = None) -> np.ndarray:
    """Class id per answer (ids in order of first appearance): the classes of the pairwise grouping (each new
    distinct answer joins the first class whose representative math-verify finds equivalent), computed by
    checking only the classes that share a bucket key. Null / empty answers get -1 (no vote)."""
    cache = cache or EquivalenceCache()
    by_string: dict[str, int] = {}
    reps: list[tuple[str, tuple | None]] = []
    buckets: dict[tuple, list[int]] = {}
    out = np.full(len(answers), -1, dtype=np.int64)
    candidates = 0
    for i, a in enumerate(answers):
        if a is None or (isinstance(a, float) and np.isnan(a)):
            continue
        a = str(a).strip()
        if not a:
            continue
        cls = by_string.get(a)
        if cls is None:
            store, look, exact = answer_keys(a, cache)
            cands = sorted({c for k in look for c in buckets.get(k, ())})
            candidates += len(cands)
            for c in cands:
                rep, rexact = reps[c]
                same = exact_same(rexact, exact) if (exact and rexact) else None
                if same is None:
                    same = cache.equivalent(rep, a)
                if same:
                    cls = c
                    break
            if cls is None:
                cls = len(reps)
                reps.append((a, exact))
                for k in store:
                    buckets.setdefault(k, []).append(cls)
            by_string[a] = cls
        out[i] = cls
    if stats is not None:
        stats.update(distinct=len(by_string), classes=len(reps), candidates=candidates)
    return out


def pairwise_classes(answers, cache: EquivalenceCache | None = None) -> np.ndarray:
    """The reference grouping: every new distinct answer is checked against every class so far (quadratic).
    Kept for the equivalence test and as the benchmark baseline."""
    cache = cache or EquivalenceCache()
    reps: list[str] = []
    by_string: dict[str, int] = {}
    out = np.full(len(answers), -1, dtype=np.int64)
    for i, a in enumerate(answers):
        if a is None or (isinstance(a, float) and np.isnan(a)) or str(a).strip() == "":
            continue
        a = str(a).strip()
        if a not in by_string:
            cls = next((j for j, r in enumerate(reps) if cache.equivalent(r, a)), None)
            if cls is None:
                reps.append(a)
                cls = len(reps) - 1
            by_string[a] = cls
        out[i] = by_string[a]
    return out


def reference_verdicts(reference: str, distinct_answers, equivalent, cache: EquivalenceCache | None = None) -> dict:
    """answer → equivalent(reference, answer) for each distinct answer, calling `equivalent` (the verifier's own
    check, e.g. infscale.verify.math.equivalent) only for answers that share a bucket key with the reference or
    equal it once commas are dropped; every other answer is not equivalent to it. With 10⁴ samples per problem and
    a long tail of distinct answers this leaves a handful of math-verify calls per problem."""
    cache = cache or EquivalenceCache()
    ref = str(reference).strip()
    rstore, rlook, _ = answer_keys(ref, cache)
    rstore, rlook = rstore - {ANY}, rlook - {WILD}
    rwild = WILD in rstore or ANY in rlook
    bare = ref.replace(",", "")
    out = {}
    for a in distinct_answers:
        s = str(a).strip()
        store, look, _ = answer_keys(s, cache) if s else ({("empty",)}, set(), None)
        wild = WILD in store or ANY in look or rwild
        out[a] = bool(equivalent(reference, a)) if (wild or rlook & store or look & rstore
                                                   or s.replace(",", "") == bare) else False
    return out
