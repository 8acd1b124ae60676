"""The paper-comparison table: numbers the Monkeys paper publishes, recomputed by infscale from released samples.

Published values live in one data file (resources/published/monkeys.yaml), each with its source in Brown et al.
2024 (arXiv 2407.21787). Claims name a release subset (`MATH_Llama-3-8B-Instruct`); the plan maps subsets to its
(model, dataset) pairs through `models.<m>.releases.<d>.subset`. The table has one row per published number:
claim, source, subset, published, infscale, difference (infscale − published), holds, note. A claim whose subset
is not in the plan gets a row with an empty infscale value and a note saying so, so the table always shows the
whole list.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from . import cost, io

COLUMNS = ["claim", "source", "subset", "published", "infscale", "difference", "holds", "note"]
# A recomputed number "holds" when it is within this distance of the published one: the paper prints fits to
# two decimals and coverage to a tenth of a percent; the tolerances are a little wider than that rounding.
TOLERANCE = {"fit": 0.05, "coverage": 0.005, "table1": 0.5}


def load_claims(path: str | Path) -> list[dict]:
    data = yaml.safe_load(Path(path).read_text())
    claims = data.get("claims") if isinstance(data, dict) else None
    if not isinstance(claims, list) or not claims:
        raise ValueError(f"{path}: expected a top-level 'claims:' list")
    for i, c in enumerate(claims):
        if not isinstance(c, dict) or "kind" not in c or "source" not in c:
            raise ValueError(f"{path}: claim {i} needs 'kind' and 'source'")
    return claims


def subsets_needed(claims: list[dict]) -> set[str]:
    out = set()
    for c in claims:
        out.update(c.get("subsets", [c["subset"]] if "subset" in c else []))
    return out


def _row(claim, source, subset, published, value, tol=None, note="", holds=None):
    diff = value - published if isinstance(value, (int, float)) and isinstance(published, (int, float)) else np.nan
    if holds is None and tol is not None and np.isfinite(diff):
        holds = bool(abs(diff) <= tol)
    return {"claim": claim, "source": source, "subset": subset, "published": published,
            "infscale": value, "difference": diff, "holds": holds, "note": note}


def _coverage_at(curve: pd.DataFrame, k: int) -> float:
    """Coverage at k from a coverage table (log-interpolated between its k; NaN beyond its largest k)."""
    ks, cov = curve["k"].to_numpy(np.float64), curve["coverage"].to_numpy(np.float64)
    ok = np.isfinite(cov)
    ks, cov = ks[ok], cov[ok]
    if len(ks) == 0 or k > ks.max() or k < ks.min():
        return float("nan")
    return float(np.interp(np.log(k), np.log(ks), cov))


def _fit_rows(c, fits):
    rows = []
    path = fits.get(c["subset"])
    t = pd.read_csv(path) if path else None
    row = t[t["method"] == "curve_fit"].iloc[0] if t is not None else None
    for p in ("a", "b"):
        claim = f"fit {p} of exp(a·k^b), {c['subset']}"
        if row is None:
            rows.append(_row(claim, c["source"], c["subset"], c[p], np.nan, note="subset not in this plan"))
        else:
            rows.append(_row(claim, c["source"], c["subset"], c[p], float(row[p]), TOLERANCE["fit"]))
    return rows


def _coverage_row(c, coverage):
    above = c["kind"] == "coverage_above"
    claim = f"coverage at k={c['k']}{' above' if above else ''}, {c['subset']}"
    path = coverage.get(c["subset"])
    if not path:
        return _row(claim, c["source"], c["subset"], c["value"], np.nan, note="subset not in this plan")
    v = _coverage_at(pd.read_csv(path), int(c["k"]))
    if not np.isfinite(v):
        return _row(claim, c["source"], c["subset"], c["value"], np.nan,
                    note=f"the release has fewer than {c['k']} samples per problem")
    if above:
        return _row(claim, c["source"], c["subset"], c["value"], v, holds=bool(v > c["value"]))
    return _row(claim, c["source"], c["subset"], c["value"], v, TOLERANCE["coverage"])


def _table1_row(c):
    t = cost.table1(pd.DataFrame([{k: c[k] for k in ("model", "attempts", "dollars_per_attempt", "solved",
                                                     "problems")}]))
    return _row(f"Table 1 total dollars, {c['model']} × {c['attempts']}", c["source"], "", c["value"],
                float(t["total_dollars"].iloc[0]), TOLERANCE["table1"])


def matched_winner(matched: pd.DataFrame, a: str, b: str, unit: str = "flops") -> tuple[str | None, float]:
    """The model of (a, b) with the higher coverage at more of the budgets both reach, and the share it wins."""
    t = matched[(matched["unit"] == unit) & matched["model"].isin([a, b])]
    wide = t.pivot_table(index="budget", columns="model", values="coverage", aggfunc="first")
    if a not in wide or b not in wide:
        return None, float("nan")
    both = wide[[a, b]].dropna()
    if both.empty:
        return None, float("nan")
    share_a = float((both[a] > both[b]).mean())
    return (a, share_a) if share_a >= 0.5 else (b, 1.0 - share_a)


def _matched_row(c, pairs, matched):
    s1, s2 = c["subsets"]
    claim = f"winner at equal FLOPs, {s1} vs {s2}"
    if s1 not in pairs or s2 not in pairs:
        return _row(claim, c["source"], f"{s1}, {s2}", c["winner"], None, note="subset not in this plan")
    (m1, d1), (m2, d2) = pairs[s1][:2], pairs[s2][:2]
    path = matched.get(s1)
    if d1 != d2 or not path:
        return _row(claim, c["source"], f"{s1}, {s2}", c["winner"], None,
                    note="the two subsets are not one family on one dataset with FLOPs in this plan")
    win, share = matched_winner(pd.read_csv(path), m1, m2)
    if win is None:
        return _row(claim, c["source"], f"{s1}, {s2}", c["winner"], None, note="no budget reached by both models")
    subset_of = {m1: s1, m2: s2}
    return _row(claim, c["source"], f"{s1}, {s2}", c["winner"], subset_of[win], holds=subset_of[win] == c["winner"],
                note=f"{subset_of[win]} wins at {share:.0%} of the budgets both reach")


def compare(claims: list[dict], pairs: dict, fits: dict, coverage: dict, matched: dict) -> pd.DataFrame:
    """The comparison table.

    pairs: subset → (model, dataset) for the subsets this plan imports. fits / coverage: subset → the pair's fit
    or coverage CSV. matched: subset → the matched CSV of its family on its dataset (unit, budget, model,
    coverage, winner).
    """
    rows = []
    for c in claims:
        kind = c["kind"]
        if kind == "fit":
            rows += _fit_rows(c, fits)
        elif kind in ("coverage", "coverage_above"):
            rows.append(_coverage_row(c, coverage))
        elif kind == "table1":
            rows.append(_table1_row(c))
        elif kind == "matched_winner":
            rows.append(_matched_row(c, pairs, matched))
        else:
            raise ValueError(f"unknown claim kind {kind!r} (known: fit, coverage, coverage_above, table1, "
                             "matched_winner)")
    return pd.DataFrame(rows, columns=COLUMNS)


def write_comparison(published: str | Path, pairs: dict, fits: dict, coverage: dict, matched: dict,
                     out_csv: str | Path) -> pd.DataFrame:
    t = compare(load_claims(published), pairs, fits, coverage, matched)
    io.write_csv(t, out_csv)
    return t
