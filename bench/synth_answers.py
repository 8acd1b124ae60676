"""Synthetic final answers at paper shape (10⁴ samples per problem) for bench_selection and bench_verify_scale.

The shape follows what repeated sampling on MATH produces (Brown et al. 2024): per problem a few frequent answers
(the right one, in a couple of equivalent forms, and some common wrong ones) and a long tail of rare distinct
answers. Forms mix integers, decimals, fractions (\\frac, \\dfrac, a/b), percentages, radicals, multiples of π,
tuples, intervals, equations and text, so the tail exercises every kind of bucket key.
"""
from __future__ import annotations

import numpy as np


def _forms(rng: np.random.Generator, i: int) -> str:
    a, b = int(rng.integers(1, 400)), int(rng.integers(2, 60))
    kind = rng.random()
    if kind < 0.45:
        return str(int(rng.integers(-50, 5000)))
    if kind < 0.55:
        return f"{rng.uniform(0, 500):.{int(rng.integers(1, 4))}f}"
    if kind < 0.62:
        return f"\\frac{{{a}}}{{{b}}}"
    if kind < 0.66:
        return f"{a}/{b}"
    if kind < 0.68:
        return f"\\dfrac{{{a}}}{{{b}}}"
    if kind < 0.70:
        return f"{a % 100}\\%"
    if kind < 0.77:
        return f"{a}\\sqrt{{{b}}}"
    if kind < 0.81:
        return f"\\frac{{\\sqrt{{{a}}}}}{{{b}}}"
    if kind < 0.85:
        return f"\\frac{{{a}\\pi}}{{{b}}}"
    if kind < 0.90:
        return f"({a}, {b})"
    if kind < 0.93:
        return f"[{a}, {a + b}]"
    if kind < 0.96:
        return f"x={a}"
    if kind < 0.98:
        return f"{a}x+{b}"
    return "\\text{" + "".join(chr(97 + int(c)) for c in rng.integers(0, 26, int(rng.integers(3, 9)))) + "}"


def pool(rng: np.random.Generator, size: int) -> list[str]:
    """`size` distinct answer strings."""
    seen: dict[str, None] = {}
    i = 0
    while len(seen) < size:
        seen.setdefault(_forms(rng, i), None)
        i += 1
    return list(seen)


def one_problem(rng: np.random.Generator, n: int, distinct: int) -> list[str]:
    """n answers with exactly `distinct` distinct strings: every string once, the rest drawn Zipf-like."""
    strings = pool(rng, distinct)
    weights = 1.0 / np.arange(1, distinct + 1) ** 1.1
    extra = rng.choice(distinct, n - distinct, p=weights / weights.sum())
    answers = strings + [strings[j] for j in extra]
    return [answers[j] for j in rng.permutation(n)]


def problems(rng: np.random.Generator, n_problems: int, n: int, tail_pool: list[str]):
    """Per problem (answers, correct): right answer in two forms with rate p ~ Beta(0.6, 1.2), three common wrong
    answers sharing a third of the rest, the remainder a long tail drawn from `tail_pool` (shared by all
    problems, as common numbers repeat across problems). None = no answer extracted (2%)."""
    out = []
    for i in range(n_problems):
        p = float(rng.beta(0.6, 1.2))
        right = rng.integers(2, 97)
        forms = [f"\\frac{{{right}}}{{97}}", f"{right}/97"]
        wrong = [str(int(rng.integers(1000, 9000))) + "1" for _ in range(3)]
        u = rng.random(n)
        answers = np.empty(n, dtype=object)
        is_right = u < p
        answers[is_right] = np.array(forms, dtype=object)[rng.integers(0, 2, is_right.sum())]
        common = (u >= p) & (u < p + (1 - p) / 3)
        answers[common] = np.array(wrong, dtype=object)[rng.integers(0, 3, common.sum())]
        tail = (u >= p + (1 - p) / 3) & (u < 0.98 + 0.02 * p)
        w = 1.0 / np.arange(1, len(tail_pool) + 1) ** 0.9
        answers[tail] = np.array(tail_pool, dtype=object)[rng.choice(len(tail_pool), tail.sum(), p=w / w.sum())]
        answers[~(is_right | common | tail)] = None
        out.append((f"p{i:03d}", list(answers), is_right, forms[0]))
    return out
