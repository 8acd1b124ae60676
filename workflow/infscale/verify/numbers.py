"""Numbers with units, read exactly, for the math verifier.

`parse(text)` reads one answer string that is a single number (optionally with a unit or a percent sign) into a
`Quantity` with an exact rational value; anything else gives None and is left to math-verify. It reads what
math-verify misreads or rejects:

- scientific notation: `4.5e33`, `4.5E+33`, `4.5 \\times 10^{33}`, `4.5\\cdot10^{33}` (math-verify reads `4.5e33` as
  4.5·e·33, e being Euler's number);
- thousands separators (`1,000`, `1{,}000`, `1\\,000`), trailing `.0`, `\\%`, leading zeros (`073` = 73, AIME);
- `-1./3` as −1/3 (math-verify reads it as −1), `\\frac{a}{b}`;
- wrappers: `$…$`, `\\boxed{}`, `\\textbf{}`, `(073)`, `x = …`, a leading `\\$`;
- a trailing unit: SI units with prefixes (m, nm, s, Hz, eV, J, K, kg, …), common physics units (erg, Å, pc, AU,
  min, h, yr, …), `%`, degrees (`^\\circ`, `°`), inside `\\mathrm{}`, `\\text{}` or bare, with powers and `/`.

`match(ref, ans, rel_tol, abs_tol)` compares two quantities (see its docstring for the tolerance rules).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

# Dimension vector: (length, mass, time, temperature, current, amount, angle). Percent is dimensionless.
Dim = tuple[int, int, int, int, int, int, int]
_NONE: Dim = (0, 0, 0, 0, 0, 0, 0)
MAX_EXPONENT = 400  # a larger power of ten is not read as a plain number (no 10^(10^9) Fractions)


def _d(L=0, M=0, T=0, K=0, A=0, N=0, ang=0) -> Dim:
    return (L, M, T, K, A, N, ang)


@dataclass(frozen=True)
class Unit:
    dim: Dim
    scale: Fraction          # value in base units = value · scale + offset
    offset: Fraction = Fraction(0)
    name: str = ""

    def __mul__(self, other: "Unit") -> "Unit":
        return Unit(tuple(a + b for a, b in zip(self.dim, other.dim)), self.scale * other.scale, Fraction(0),
                    f"{self.name}·{other.name}")

    def power(self, p: int) -> "Unit":
        return Unit(tuple(a * p for a in self.dim), self.scale ** p, Fraction(0), f"{self.name}^{p}")


def _u(dim: Dim, scale, name: str, offset=0) -> Unit:
    return Unit(dim, Fraction(scale), Fraction(offset), name)


_J = _d(L=2, M=1, T=-2)
# SI units that take prefixes (base symbol -> unit). Gram scales to kilograms.
_SI = {
    "m": _u(_d(L=1), 1, "m"), "g": _u(_d(M=1), Fraction(1, 1000), "g"), "s": _u(_d(T=1), 1, "s"),
    "K": _u(_d(K=1), 1, "K"), "A": _u(_d(A=1), 1, "A"), "mol": _u(_d(N=1), 1, "mol"),
    "Hz": _u(_d(T=-1), 1, "Hz"), "N": _u(_d(L=1, M=1, T=-2), 1, "N"), "J": _u(_J, 1, "J"),
    "W": _u(_d(L=2, M=1, T=-3), 1, "W"), "Pa": _u(_d(L=-1, M=1, T=-2), 1, "Pa"),
    "C": _u(_d(T=1, A=1), 1, "C"), "V": _u(_d(L=2, M=1, T=-3, A=-1), 1, "V"),
    "Ω": _u(_d(L=2, M=1, T=-3, A=-2), 1, "Ω"), "eV": _u(_J, Fraction("1.602176634e-19"), "eV"),
    "L": _u(_d(L=3), Fraction(1, 1000), "L"), "T": _u(_d(M=1, T=-2, A=-1), 1, "T"),
    "F": _u(_d(L=-2, M=-1, T=4, A=2), 1, "F"), "rad": _u(_d(ang=1), 1, "rad"),
}
_PREFIX = {"Y": 24, "Z": 21, "E": 18, "P": 15, "T": 12, "G": 9, "M": 6, "k": 3, "h": 2, "da": 1, "d": -1,
           "c": -2, "m": -3, "μ": -6, "µ": -6, "u": -6, "n": -9, "p": -12, "f": -15, "a": -18}
_DEG = _u(_d(ang=1), Fraction(math.pi / 180), "°")
# Units without prefixes, and spelled-out names (singular and plural).
_WORDS = {
    "°": _DEG, "deg": _DEG, "degree": _DEG, "degrees": _DEG,
    "°C": _u(_d(K=1), 1, "°C", offset=Fraction("273.15")), "°F": _u(_d(K=1), Fraction(5, 9), "°F",
                                                                    offset=Fraction("459.67") * Fraction(5, 9)),
    "%": _u(_NONE, Fraction(1, 100), "%"), "percent": _u(_NONE, Fraction(1, 100), "%"),
    "min": _u(_d(T=1), 60, "min"), "h": _u(_d(T=1), 3600, "h"), "hr": _u(_d(T=1), 3600, "h"),
    "day": _u(_d(T=1), 86400, "day"), "days": _u(_d(T=1), 86400, "day"), "week": _u(_d(T=1), 604800, "week"),
    "weeks": _u(_d(T=1), 604800, "week"), "years": _u(_d(T=1), Fraction("3.15576e7"), "yr"),
    "yrs": _u(_d(T=1), Fraction("3.15576e7"), "yr"), "hrs": _u(_d(T=1), 3600, "h"), "yr": _u(_d(T=1), Fraction("3.15576e7"), "yr"),
    "year": _u(_d(T=1), Fraction("3.15576e7"), "yr"),
    "erg": _u(_J, Fraction(1, 10**7), "erg"), "cal": _u(_J, Fraction("4.184"), "cal"),
    "Å": _u(_d(L=1), Fraction(1, 10**10), "Å"), "AA": _u(_d(L=1), Fraction(1, 10**10), "Å"),
    "angstrom": _u(_d(L=1), Fraction(1, 10**10), "Å"),
    "AU": _u(_d(L=1), 149597870700, "AU"), "pc": _u(_d(L=1), Fraction("3.0856775814913673e16"), "pc"),
    "kpc": _u(_d(L=1), Fraction("3.0856775814913673e19"), "kpc"),
    "Mpc": _u(_d(L=1), Fraction("3.0856775814913673e22"), "Mpc"),
    "ly": _u(_d(L=1), 9460730472580800, "ly"), "atm": _u(_d(L=-1, M=1, T=-2), 101325, "atm"),
    "inch": _u(_d(L=1), Fraction("0.0254"), "in"), "inches": _u(_d(L=1), Fraction("0.0254"), "in"),
    "ft": _u(_d(L=1), Fraction("0.3048"), "ft"), "foot": _u(_d(L=1), Fraction("0.3048"), "ft"),
    "feet": _u(_d(L=1), Fraction("0.3048"), "ft"), "mile": _u(_d(L=1), Fraction("1609.344"), "mi"),
    "miles": _u(_d(L=1), Fraction("1609.344"), "mi"), "mph": _u(_d(L=1, T=-1), Fraction("0.44704"), "mph"),
    "ohm": _SI["Ω"], "ohms": _SI["Ω"], "Ohm": _SI["Ω"],
}
for _name, _sym in {"meter": "m", "metre": "m", "second": "s", "gram": "g", "kelvin": "K", "joule": "J",
                    "hertz": "Hz", "newton": "N", "watt": "W", "volt": "V", "ampere": "A", "pascal": "Pa",
                    "liter": "L", "litre": "L", "minute": "min", "hour": "h", "sec": "s"}.items():
    _WORDS[_name] = _WORDS.get(_sym) or _SI[_sym]
    if _name not in ("hertz", "sec"):
        _WORDS[_name + "s"] = _WORDS[_name]
for _name, _p in {"kilo": 3, "centi": -2, "milli": -3, "micro": -6, "nano": -9, "pico": -12}.items():
    for _base, _sym in (("meter", "m"), ("metre", "m"), ("gram", "g"), ("second", "s"), ("joule", "J")):
        _WORDS[_name + _base] = _WORDS[_name + _base + "s"] = Unit(
            _SI[_sym].dim, _SI[_sym].scale * Fraction(10) ** _p, Fraction(0), _name + _base)


def _symbol(tok: str) -> Unit | None:
    if tok in _WORDS:
        return _WORDS[tok]
    if tok.lower() in _WORDS and len(tok) > 3:
        return _WORDS[tok.lower()]
    if tok in _SI:
        return _SI[tok]
    for p in sorted(_PREFIX, key=len, reverse=True):
        if tok.startswith(p) and tok[len(p):] in _SI:
            base = _SI[tok[len(p):]]
            return Unit(base.dim, base.scale * Fraction(10) ** _PREFIX[p], Fraction(0), tok)
    return None


_UNIT_TOKEN = re.compile(r"(/)?\s*([A-Za-zΩμµÅ°%]+(?:[A-Za-z])*)\s*(?:\^\s*(?:\{\s*([-+]?\d+)\s*\}|([-+]?\d)))?\s*")


def parse_unit(text: str) -> Unit | None | bool:
    """The unit of a unit string (already stripped of LaTeX wrappers), None for no unit, False if unknown."""
    s = text.strip()
    if not s:
        return None
    if s in _WORDS:  # '°C', '%'
        return _WORDS[s]
    s = re.sub(r"\s*(?:\\cdot|\*|·)\s*", " ", s)
    unit, pos, n = None, 0, 0
    while pos < len(s):
        m = _UNIT_TOKEN.match(s, pos)
        if not m or m.end() == pos:
            return False
        sym = _symbol(m.group(2))
        if sym is None:
            return False
        p = int(m.group(3) or m.group(4) or 1) * (-1 if m.group(1) else 1)
        if sym.offset and (p != 1 or n):
            return False
        term = sym if p == 1 and not m.group(1) else sym.power(p)
        unit = term if unit is None else unit * term
        pos, n = m.end(), n + 1
    return unit


@dataclass(frozen=True)
class Quantity:
    value: Fraction
    kind: str                       # int (written as digits only) | decimal (a point or an exponent) | rational
    resolution: Fraction | None     # one unit in the last written decimal place (decimals without exponent)
    unit: Unit | None = None
    annotation: str = ""            # unknown words after the number (\\text{ eggs}): ignored unless the reference has a unit

    def base(self) -> Fraction:
        return self.value if self.unit is None else self.value * self.unit.scale + self.unit.offset


# -- reading -------------------------------------------------------------------------------------------------
_WRAP = re.compile(r"^\\(?:boxed|fbox|framebox|textbf|mathbf|bf|displaystyle|text|textrm|mathrm)\s*\{(.*)\}$", re.S)
_SPACES = re.compile(r"\\[,;: ]|~|\\quad|\\qquad|\\left|\\right")
_MANT = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|\.\d+"
_NUM = re.compile(
    rf"(?P<sign>[-+])?\s*(?P<mant>{_MANT})"
    r"(?:\s*[eE]\s*(?P<e1>[-+]?\d+)|\s*(?:\\times|\\cdot|\*|×|·|x)\s*10\s*\^\s*(?:\{\s*(?P<e2>[-+]?\d+)\s*\}|(?P<e3>[-+]?\d)))?"
)
_POW10 = re.compile(r"(?P<sign>[-+])?\s*10\s*\^\s*(?:\{\s*(?P<e2>[-+]?\d+)\s*\}|(?P<e3>[-+]?\d))")
_FRAC = re.compile(r"(?P<sign>[-+])?\s*\\[dt]?frac\s*\{(?P<num>[^{}]*)\}\s*\{(?P<den>[^{}]*)\}")
_SCI_TAIL = re.compile(r"\s*(?:\\times|\\cdot|\*|×|·)\s*10\s*\^\s*(?:\{\s*([-+]?\d+)\s*\}|([-+]?\d))")
_UNWRAP_IN_UNIT = re.compile(r"\\(?:text|textrm|mathrm|rm|mbox|operatorname|mathit)\s*\{([^{}]*)\}")
_DEGREE = re.compile(r"\^\s*\{?\s*\\circ\s*\}?|\\circ|\\degree|°")
_ASSIGN = re.compile(r"^(?:[A-Za-z](?:_\{?\w+\}?)?\s*)?(?:=|\\approx|≈|\\sim)\s*")


def clean(text: str) -> str:
    """An answer string with math delimiters, spacing macros and whole-answer wrappers removed."""
    s = text.strip().replace("−", "-").replace("\u2009", " ").replace("\u202f", " ")
    s = re.sub(r"\\!\s*", "", s.replace("{,}", ","))  # 5,\\!525 (MATH's thousands separator)
    s = re.sub(r"(\d)\\,(?=\d{3}(?!\d))", r"\1,", s)
    s = s.replace("\\$", "")  # a dollar sign, not a math delimiter
    s = re.sub(r"\$|\\\(|\\\)|\\\[|\\\]", "", s)
    s = _SPACES.sub(" ", s).strip()
    for _ in range(4):
        m = _WRAP.match(s)
        if not m or not _balanced(m.group(1)):
            break
        s = m.group(1).strip()
    s = s.rstrip(" .")
    s = _ASSIGN.sub("", s)
    if len(s) > 2 and s[0] == "(" and s[-1] == ")" and "," not in s and _balanced(s[1:-1]):
        s = s[1:-1].strip()
    return s


def _balanced(s: str) -> bool:
    depth = 0
    for ch in s:
        depth += (ch == "{") - (ch == "}")
        if depth < 0:
            return False
    return depth == 0


def _exp(e) -> int | None:
    e = int(e)
    return e if abs(e) <= MAX_EXPONENT else None


def _plain(s: str) -> tuple[Fraction, str, Fraction | None] | None:
    """A whole string that is one signed number (no unit), as (value, kind, resolution)."""
    m = _NUM.fullmatch(s.strip())
    if m:
        return _from_match(m)
    return None


def _from_match(m) -> tuple[Fraction, str, Fraction | None] | None:
    mant = m.group("mant").replace(",", "")
    value = Fraction(mant.rstrip(".") or "0") if not mant.startswith(".") else Fraction("0" + mant)
    decimals = len(mant.split(".", 1)[1]) if "." in mant else 0
    e = m.groupdict().get("e1") or m.group("e2") or m.group("e3")
    kind = "decimal" if ("." in mant.rstrip(".") or e is not None) else "int"
    resolution = Fraction(1, 10 ** decimals) if kind == "decimal" and e is None else None
    if e is not None:
        p = _exp(e)
        if p is None:
            return None
        value *= Fraction(10) ** p
    if m.group("sign") == "-":
        value = -value
    return value, kind, resolution


def _leading_number(s: str) -> tuple[Fraction, str, Fraction | None, int] | None:
    """The number at the start of `s` (value, kind, resolution, end)."""
    m = _POW10.fullmatch(s) or _POW10.match(s)
    if m and not re.match(r"10\s*[.,\d]", s.lstrip("+-").strip()):
        p = _exp(m.group("e2") or m.group("e3"))
        if p is None:
            return None
        return Fraction(10) ** p * (-1 if m.group("sign") == "-" else 1), "decimal", None, m.end()
    m = _FRAC.match(s)
    if m:
        num, den = _plain(clean(m.group("num"))), _plain(clean(m.group("den")))
        if not num or not den or den[0] == 0:
            return None
        value = num[0] / den[0] * (-1 if m.group("sign") == "-" else 1)
        end = m.end()
        t = _SCI_TAIL.match(s, end)
        if t:
            p = _exp(t.group(1) or t.group(2))
            if p is None:
                return None
            value, end = value * Fraction(10) ** p, t.end()
        return value, "rational", None, end
    m = _NUM.match(s)
    if m:
        got = _from_match(m)
        if got is None:
            return None
        value, kind, res = got
        end = m.end()
        d = re.compile(rf"\s*/\s*(?P<sign>[-+])?\s*(?P<mant>{_MANT})(?![\d.])").match(s, end)
        if d and not any(m.group(g) for g in ("e1", "e2", "e3")):
            den = Fraction(d.group("mant").replace(",", "").rstrip(".") or "0")
            if den == 0:
                return None
            return value / den * (-1 if d.group("sign") == "-" else 1), "rational", None, d.end()
        return value, kind, res, end
    return None


@lru_cache(maxsize=65536)
def parse(text: str) -> Quantity | None:
    """One answer string as a Quantity, or None when it is not a single number (with optional unit)."""
    if not isinstance(text, str) or len(text) > 200:
        return None
    s = clean(text)
    got = _leading_number(s)
    if got is None:
        return None
    value, kind, res, end = got
    rest = s[end:].strip()
    if not rest:
        return Quantity(value, kind, res)
    words = _UNWRAP_IN_UNIT.sub(lambda m: " " + m.group(1) + " ", rest)
    words = _DEGREE.sub("°", words).replace("\\%", "%").replace("\\Omega", "Ω").replace("\\mu", "μ")
    words = words.replace("\\AA", "Å").replace("\\mathring{A}", "Å").replace("{", " ").replace("}", " ")
    words = re.sub(r"\s+", " ", words).strip()
    words = re.sub(r"°\s*([CF])\b", r"°\1", words)
    words = re.sub(r"([μµ])\s+", r"\1", words)
    unit = parse_unit(words)
    if unit is False:
        # Words inside \text{} that are no unit (`\text{ eggs}`, `\text{ dollars}`) annotate the number.
        if re.fullmatch(r"(?:\\text\s*\{[A-Za-z .'-]*\}\s*)+", rest) or re.fullmatch(r"[A-Za-z]{3,}(?: [A-Za-z]+)*", words):
            return Quantity(value, kind, res, None, words)
        return None
    return Quantity(value, kind, res, unit)


# -- comparing -----------------------------------------------------------------------------------------------
FLOAT_REL_TOL = Fraction(1, 10**9)     # float noise (0.30000000000000004) on a decimal reference
APPROX_RESOLUTION = Fraction(1, 10**6)  # a reference with 6 or more decimals is a float printout (GSM-Hard)
ROUNDED_RESOLUTION = Fraction(1, 100)   # ... and matches an answer correctly rounded to 2 or more decimals


def _close(r: Fraction, a: Fraction, ref: Quantity, ans_res: Fraction | None,
           rel_tol: Fraction | None, abs_tol: Fraction | None) -> bool:
    if a == r:
        return True
    if rel_tol is not None or abs_tol is not None:
        return abs(a - r) <= max((rel_tol or 0) * abs(r), abs_tol or 0)
    if ref.kind != "decimal":  # integers and exact rationals are compared exactly
        return False
    if abs(a - r) <= FLOAT_REL_TOL * abs(r):
        return True
    approx = ref.resolution is not None and ref.resolution <= APPROX_RESOLUTION
    return (approx and ans_res is not None and ans_res <= ROUNDED_RESOLUTION and ans_res > ref.resolution
            and abs(a - r) <= ans_res / 2)


def match(ref: Quantity, ans: Quantity, rel_tol: float | None = None, abs_tol: float | None = None) -> bool:
    """Is `ans` the reference number (and unit)?

    - Units: when both carry a unit, their dimensions must agree (else False) and the values are compared in
      base units. When one side has no unit, its number is compared with the other's number as written (and,
      for a dimensionless unit such as %, also with its base value: 50% matches 0.5). Unknown words after the
      answer are ignored, unless the reference has a unit.
    - Tolerance: with `rel_tol`/`abs_tol` given, |a − r| ≤ max(rel_tol·|r|, abs_tol). Without: a reference
      written as an integer or a fraction must match exactly; one written as a decimal or in scientific notation
      matches within 1e-9 relative (float noise). A reference written with 6 or more decimals is a float
      printout of a non-terminating value (GSM-Hard's 14053029.666666666): it also matches an answer that is
      the reference correctly rounded to the 2 or more decimals the answer is written with (14053029.67).
    """
    rt = None if rel_tol is None else Fraction(rel_tol)
    at = None if abs_tol is None else Fraction(abs_tol)
    if ref.unit is not None and ans.unit is not None:
        if ref.unit.dim != ans.unit.dim:
            return False
        res = None if ans.resolution is None else ans.resolution * ans.unit.scale
        return _close(ref.base(), ans.base(), ref, res, rt, at)
    if ref.unit is not None and ans.annotation:
        return False
    if _close(ref.value, ans.value, ref, ans.resolution, rt, at):
        return True
    one = ref.unit or ans.unit
    if one is not None and one.dim == _NONE:
        return _close(ref.base(), ans.base(), ref, None if ans.unit else ans.resolution, rt, at)
    return False


_SCI_INLINE = re.compile(r"(?<![A-Za-z\\\d.])(\d+(?:\.\d*)?|\.\d+)[eE]([-+]?\d+)(?![\d.A-Za-z])")
_TRAILING_POINT = re.compile(r"(\d)\.(?![\d])")


def for_math_verify(text: str) -> str:
    """An answer rewritten for math-verify: `4.5e33` as `4.5\\times 10^{33}` and `1./3` as `1/3`."""
    s = _SCI_INLINE.sub(lambda m: f"{m.group(1)}\\times 10^{{{int(m.group(2))}}}", text)
    return _TRAILING_POINT.sub(r"\1", s)
