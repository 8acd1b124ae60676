"""Builds tests/data/math_equivalence.jsonl: answer-equivalence cases in real answer styles.

Run once from the repository root (needs ../shared/data, see each folder's SOURCE.md):
    python tests/data/make_math_equivalence.py /work/shared/data

Sources of the references: GSM8K test (`answer` after '####', Cobbe et al. 2021), MATH test (last \\boxed{} of
`solution`, Hendrycks et al. 2021), MATH-500 (`answer`, OpenAI PRM800K); AIME-style integers 0-999 with leading
zeros, GSM-Hard-style non-terminating float targets and Minerva-OCW-style answers (scientific notation, units)
are written here by hand in those datasets' styles. Each row is one sample:
  {source, style, reference, answer, kind, text}
kind = gold (the reference itself), rewrite (an equivalent form), near_miss (a close but wrong answer), or
guess (a text with the right number but not in the prompt style's answer format). `text` is the sample as a model
would write it in that style. The test (tests/test_verify_math.py) runs each through the real verifier.
"""
import json
import random
import re
import sys
from fractions import Fraction
from pathlib import Path

OUT = Path(__file__).with_name("math_equivalence.jsonl")
N_GSM, N_MATH, N_MATH500 = 60, 60, 120


def last_boxed(s):
    i = s.rfind("\\boxed")
    if i < 0:
        return None
    j = s.find("{", i)
    depth = 0
    for k in range(j, len(s)):
        depth += {"{": 1, "}": -1}.get(s[k], 0)
        if depth == 0:
            return s[j + 1:k]
    return None


def wrap(style, answer):
    if style == "gsm8k":
        return f"She sells 16 - 3 - 4 = 9 eggs and earns 9 * 2 dollars.\n#### {answer}"
    if style == "minerva":
        return f"We compute it step by step.\nFinal Answer: The final answer is ${answer}$. I hope it is correct."
    return f"Working through the steps gives the result, so the answer is $\\boxed{{{answer}}}$."


def guess(ref_number):
    return f"Let me think. 3 + 4 = 7 and then we get {ref_number} so"


def int_cases(n: int, gsm: bool):
    rew = [f"{n}.0", f"{n}.00", f"{n:,}" if abs(n) >= 1000 else f"+{n}" if n > 0 else f"{n}.000"]
    if not gsm:
        rew += [f"{n}\\text{{ }}", f"\\mathbf{{{n}}}", f"{n}\\,"]
    else:
        rew += [f"${n}"]
    near = [str(n + 1), str(n - 1), str(n * 10 if n else 7)]
    if n not in (0,):
        near.append(str(-n))
    return rew, near


def frac_cases(p: int, q: int, tex: str):
    f = Fraction(p, q)
    rew = [f"{f.numerator}/{f.denominator}", tex.replace("\\frac", "\\dfrac"), f"\\frac{{{2 * p}}}{{{2 * q}}}"]
    if 10**6 % f.denominator == 0:
        rew.append(str(float(f)))
    near = [f"{f.numerator + 1}/{f.denominator}", f"\\frac{{{f.denominator}}}{{{f.numerator}}}"
            if abs(f.numerator) != abs(f.denominator) else f"{f.numerator}/{f.denominator + 1}",
            f"{float(f):.2f}" if float(f"{float(f):.2f}") != f else f"{float(f) + 0.01:.2f}"]
    return rew, near


def bump_digit(s: str):
    m = re.search(r"\d", s)
    if not m:
        return None
    d = (int(m.group()) + 1) % 10
    return s[:m.start()] + str(d) + s[m.end():]


def cases_for(source, ref, style):
    rows = []

    def add(kind, answer, text=None):
        rows.append({"source": source, "style": style, "reference": ref, "answer": answer, "kind": kind,
                     "text": text or wrap(style, answer)})

    add("gold", ref)
    if re.fullmatch(r"-?\d+", ref.replace(",", "")):
        n = int(ref.replace(",", ""))
        rew, near = int_cases(n, style == "gsm8k")
        add("guess", str(n), guess(n))
    elif m := re.fullmatch(r"(-?)\\d?frac\{(\d+)\}\{(\d+)\}", ref):
        p, q = int(m.group(2)) * (-1 if m.group(1) else 1), int(m.group(3))
        rew, near = frac_cases(p, q, ref)
    elif re.fullmatch(r"-?\d*\.\d+", ref):
        x = Fraction(ref)
        rew = [ref + "0", ("0" + ref) if ref.startswith(".") else ref.rstrip("0") if ref.endswith("0") else ref + "00",
               f"{float(x):e}"]
        near = [str(float(x) * 10), bump_digit(ref)]
    else:
        rew = [f" {ref} ", ref.replace("\\frac", "\\dfrac") if "\\frac" in ref else f"\\displaystyle {ref}"]
        b = bump_digit(ref)
        near = [b] if b and b != ref else []
    for r in rew:
        add("rewrite", r)
    for r in near:
        if r is not None and r != ref:
            add("near_miss", r)
    return rows


# Hand-written cases in the styles of datasets that are not in ../shared/data.
AIME = [("73", ["073", "\\textbf{(073)}", "0073"], ["730", "74", "037"]),
        ("204", ["204", "\\framebox{204}", "204.0"], ["240", "205", "2040"]),
        ("5", ["005", "(005)", "5"], ["50", "500", "6"]),
        ("0", ["000", "0"], ["1", "10"])]
GSM_HARD = [("14053029.666666666", ["14053029.67", "14053029.6667", "14053029.666666666"],
             ["14053129.67", "1405302.97", "14053029.76"]),
            ("-1264.3333333333333", ["-1264.33", "-1264.333", "-1264\\frac{1}{3}"],
             ["1264.33", "-1264.43", "-1246.33"]),
            ("2.5e-05", ["0.000025", "2.5 \\times 10^{-5}", "2.5E-5"], ["2.5e-06", "0.00025", "-2.5e-05"]),
            ("4.5e33", ["4.5E+33", "4.5 \\times 10^{33}", "4.5\\cdot10^{33}", "45 \\times 10^{32}"],
             ["4.5e32", "5.4e33", "4.5"])]
MINERVA = [("4.5e33", ["4.5 \\times 10^{33}", "4.5E+33", "4.5\\cdot 10^{33}"], ["4.5 \\times 10^{32}", "4.6e33"]),
           ("500 \\text{ nm}", ["500", "500 nm", "500\\,\\mathrm{nm}", "0.5 \\mu m", "5 \\times 10^{-7} \\text{ m}"],
            ["500 \\mathrm{kg}", "500 \\text{ s}", "500 m", "50 nm"]),
           ("13.6 \\text{ eV}", ["13.6", "13.6 eV", "13.6\\,\\mathrm{eV}", "0.0136 \\text{ keV}"],
            ["13.6 \\text{ J}", "13.6 K", "136 eV"]),
           ("6 \\times 10^{14} \\text{ Hz}", ["6e14 Hz", "6\\times10^{14}", "600 \\text{ THz}"],
            ["6e14 \\text{ s}", "6e15 Hz", "6e14 \\mathrm{kg}"]),
           ("2.2 \\times 10^{-18} \\text{ J}", ["2.2e-18 J", "2.2 \\times 10^{-11} \\text{ erg}", "2.2e-18"],
            ["2.2e-18 \\text{ eV}", "2.2e-18 \\text{ m}", "2.2e-17 J"]),
           ("5800 \\text{ K}", ["5800", "5800 K", "5.8 \\times 10^{3} \\mathrm{K}", "5800\\,\\text{K}"],
            ["5800 \\text{ kg}", "5800 \\text{ eV}", "580 K"]),
           ("3 \\text{ kg}", ["3", "3 kg", "3000 \\text{ g}", "3\\,\\mathrm{kg}"],
            ["3 \\mathrm{m}", "3 \\text{ g}", "3 \\text{ s}"]),
           ("1.5 \\text{ s}", ["1.5", "1.5 s", "1500 \\text{ ms}", "1.50 \\mathrm{s}"],
            ["1.5 \\text{ m}", "1.5 \\text{ min}", "15 s"]),
           ("25\\%", ["25", "25 \\%", "0.25", "25 percent"], ["25 \\text{ kg}", "2.5\\%", "0.025"]),
           ("30^\\circ", ["30", "30^{\\circ}", "30 \\text{ degrees}", "30°"], ["30 \\text{ m}", "60^\\circ", "3"]),
           ("1.2 \\times 10^{-3} \\text{ m}", ["1.2 \\text{ mm}", "1.2e-3 m", "0.0012"],
            ["1.2 \\text{ nm}", "1.2e-3 \\text{ s}", "1.2e-3 \\text{ kg}"])]


def main(data: Path) -> None:
    rng = random.Random(0)
    rows = []
    gsm = [json.loads(line) for line in (data / "gsm8k/test.jsonl").open()]
    for r in rng.sample(gsm, N_GSM):
        rows += cases_for("gsm8k", r["answer"].split("####")[-1].strip().replace(",", ""), "gsm8k")
    import gzip  # noqa: F401 - math/test.jsonl is plain text
    math_rows = [json.loads(line) for line in (data / "math/test.jsonl").open()]
    for r in rng.sample(math_rows, N_MATH):
        ref = last_boxed(r["solution"])
        if ref:
            rows += cases_for("math", ref, "minerva")
    m500 = [json.loads(line) for line in (data / "math500/test.jsonl").open()]
    for r in rng.sample(m500, N_MATH500):
        rows += cases_for("math500", r["answer"], "plain")
    for source, table, style in (("aime", AIME, "plain"), ("gsm_hard", GSM_HARD, "gsm8k"),
                                 ("minerva_ocw", MINERVA, "minerva")):
        for ref, rew, near in table:
            kinds = [("gold", ref)] + [("rewrite", a) for a in rew] + [("near_miss", a) for a in near]
            for kind, a in kinds:
                if style == "gsm8k" and not re.fullmatch(r"-?[\d.,]+(?:[eE][-+]?\d+)?", a):
                    style_a = "plain"  # a LaTeX form cannot follow '####'; it is boxed instead
                else:
                    style_a = style
                rows.append({"source": source, "style": style_a, "reference": ref, "answer": a, "kind": kind,
                             "text": wrap(style_a, a)})
            rows.append({"source": source, "style": style, "reference": ref, "answer": ref, "kind": "guess",
                         "text": guess(re.sub(r"\\text\{.*|\\%|\^\\circ", "", ref).strip())})
    OUT.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    print(f"{OUT}: {len(rows)} rows", {k: sum(r["kind"] == k for r in rows)
                                         for k in ("gold", "rewrite", "near_miss", "guess")})


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data"))
