"""The paper-comparison table (infscale.paper) on hand-built fit, coverage and matched tables."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from infscale import paper

ROOT = Path(__file__).resolve().parents[1]
PUBLISHED = ROOT / "resources" / "published" / "monkeys.yaml"


def test_published_file_names_a_source_for_every_claim():
    claims = paper.load_claims(PUBLISHED)
    kinds = {c["kind"] for c in claims}
    assert kinds == {"fit", "coverage", "coverage_above", "table1", "matched_winner"}
    assert all(c["source"].strip() for c in claims)
    fig5 = {c["subset"]: (c["a"], c["b"]) for c in claims if c["kind"] == "fit"}
    assert fig5["MATH_Llama-3-8B-Instruct"] == (-1.33, -0.43)
    assert fig5["CodeContests_Llama-3-8B-Instruct"] == (-3.88, -0.11)


def _write(tmp_path, name, df):
    p = tmp_path / name
    df.to_csv(p, index=False)
    return str(p)


def test_compare_recomputes_each_kind(tmp_path):
    claims = [
        {"kind": "fit", "subset": "S8", "a": -1.33, "b": -0.43, "source": "Fig. 5"},
        {"kind": "coverage", "subset": "G2", "k": 10000, "value": 0.071, "source": "§2"},
        {"kind": "coverage", "subset": "G2", "k": 1, "value": 0.0002, "source": "§2"},
        {"kind": "coverage_above", "subset": "S8", "k": 10000, "value": 0.95, "source": "§2"},
        {"kind": "table1", "model": "DeepSeek", "attempts": 5, "dollars_per_attempt": 0.0072, "solved": 0.2962,
         "problems": 300, "value": 10.8, "source": "Table 1"},
        {"kind": "matched_winner", "subsets": ["S8", "S70"], "winner": "S8", "source": "Fig. 4"},
        {"kind": "fit", "subset": "MISSING", "a": -1, "b": -0.5, "source": "Fig. 5"},
    ]
    fit = pd.DataFrame({"method": ["curve_fit", "log_space"], "a": [-1.30, -9.0], "b": [-0.45, -9.0]})
    ks = np.array([1, 10, 100, 1000, 10000])
    cov8 = pd.DataFrame({"k": ks, "coverage": [0.3, 0.6, 0.8, 0.9, 0.97]})
    covg = pd.DataFrame({"k": ks, "coverage": [0.0002, 0.002, 0.02, 0.05, 0.08]})
    budgets = np.logspace(10, 14, 5)
    matched = pd.DataFrame({
        "unit": "flops", "budget": np.repeat(budgets, 2), "model": ["m8", "m70"] * 5,
        "coverage": [0.5, np.nan, 0.7, 0.6, 0.8, 0.7, 0.85, 0.9, 0.9, 0.88], "winner": "",
    })
    pairs = {"S8": ("m8", "math"), "S70": ("m70", "math"), "G2": ("g2", "cc")}
    t = paper.compare(claims, pairs, {"S8": _write(tmp_path, "fit.csv", fit)},
                      {"S8": _write(tmp_path, "c8.csv", cov8), "G2": _write(tmp_path, "cg.csv", covg)},
                      {"S8": _write(tmp_path, "m.csv", matched), "S70": str(tmp_path / "m.csv")})
    assert list(t.columns) == paper.COLUMNS
    by = dict(zip(t["claim"], t.to_dict("records")))
    a = by["fit a of exp(a·k^b), S8"]
    assert a["infscale"] == pytest.approx(-1.30) and a["difference"] == pytest.approx(0.03) and a["holds"]
    assert by["fit b of exp(a·k^b), S8"]["infscale"] == pytest.approx(-0.45)
    g = by["coverage at k=10000, G2"]
    assert g["infscale"] == pytest.approx(0.08) and g["difference"] == pytest.approx(0.009) and not g["holds"]
    assert by["coverage at k=1, G2"]["holds"]
    assert by["coverage at k=10000 above, S8"]["holds"]
    assert by["Table 1 total dollars, DeepSeek × 5"]["infscale"] == pytest.approx(10.8)
    w = by["winner at equal FLOPs, S8 vs S70"]
    assert w["infscale"] == "S8" and w["holds"] and "75%" in w["note"]  # 3 of the 4 budgets both reach
    missing = t[t["subset"] == "MISSING"]
    assert len(missing) == 2 and missing["infscale"].isna().all()
    assert (missing["note"] == "subset not in this plan").all()


def test_matched_winner_flips_with_the_data():
    budgets = [1.0, 2.0, 3.0]
    m = pd.DataFrame({"unit": "flops", "budget": budgets * 2, "model": ["a"] * 3 + ["b"] * 3,
                      "coverage": [0.1, 0.2, 0.3, 0.2, 0.3, 0.4]})
    assert paper.matched_winner(m, "a", "b") == ("b", 1.0)
    m.loc[m["model"] == "a", "coverage"] = [0.9, 0.9, 0.1]
    win, share = paper.matched_winner(m, "a", "b")
    assert win == "a" and share == pytest.approx(2 / 3)
    assert paper.matched_winner(m.assign(unit="dollars"), "a", "b")[0] is None


def test_bad_published_file_is_one_error(tmp_path):
    p = tmp_path / "p.yaml"
    p.write_text("claims: {}\n")
    with pytest.raises(ValueError, match="claims"):
        paper.load_claims(p)
    p.write_text("claims:\n  - {kind: fit}\n")
    with pytest.raises(ValueError, match="source"):
        paper.load_claims(p)
    with pytest.raises(ValueError, match="unknown claim kind"):
        paper.compare([{"kind": "nope", "source": "x"}], {}, {}, {}, {})
