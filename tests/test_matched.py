"""FLOPs- and dollar-matched comparison (Brown et al. 2024, §3 / Fig. 4) against hand counts and a brute force."""
from math import comb

import numpy as np
import pandas as pd
import pytest

from infscale import matched


def _pass(n, c, k):
    return 1.0 - comb(n - c, k) / comb(n, k)


def _cov(n, c, k):
    return float(np.mean([_pass(ni, ci, k) for ni, ci in zip(n, c)]))


SMALL = (np.array([8, 8]), np.array([1, 4]))   # 2 problems, 8 samples each
BIG = (np.array([4, 4]), np.array([2, 3]))     # 2 problems, 4 samples each


def test_each_budget_buys_floor_samples_and_the_winner_follows():
    lines = {"flops": {"small": (0.0, 1.0), "big": (2.0, 4.0)}}
    t = matched.compare({"small": SMALL, "big": BIG}, lines, budgets={"flops": [1, 6, 8, 10, 18, 40]})
    assert list(t.columns[:6]) == ["unit", "budget", "model", "coverage", "winner", "models_at_budget"]
    s = t[t.model == "small"].set_index("budget")
    b = t[t.model == "big"].set_index("budget")
    assert s["k"].tolist() == [1, 6, 8, 0, 0, 0]          # floor(B/1), nothing past its 8 samples
    assert b["k"].tolist() == [0, 1, 1, 2, 4, 0]          # floor((B-2)/4): B=6 buys one, B=40 more than it has
    for bud in (1, 6, 8):
        assert s.loc[bud, "coverage"] == pytest.approx(_cov(*SMALL, int(s.loc[bud, "k"])))
    for bud in (6, 8, 10, 18):
        assert b.loc[bud, "coverage"] == pytest.approx(_cov(*BIG, int(b.loc[bud, "k"])))
    assert np.isnan(b.loc[1, "coverage"]) and np.isnan(s.loc[10, "coverage"]) and np.isnan(b.loc[40, "coverage"])
    w = matched.winners(t).set_index("budget")
    # hand values: small k=6 → (1-C(7,6)/C(8,6) + 1-C(4,6)/C(8,6))/2 = (0.75 + 1)/2; big k=1 → (0.5+0.75)/2
    assert s.loc[6, "coverage"] == pytest.approx(0.875) and b.loc[6, "coverage"] == pytest.approx(0.625)
    assert w["winner"].iloc[:5].tolist() == ["small", "small", "small", "big", "big"]
    assert pd.isna(w["winner"].iloc[5])  # nobody can spend 40: no winner
    assert w["models_at_budget"].tolist() == [1, 2, 2, 1, 1, 0]


def test_ties_name_every_tied_model_and_dollars_list_only_priced_models():
    same = (np.array([4, 4]), np.array([4, 0]))
    lines = {"flops": {"a": (0.0, 1.0), "b": (0.0, 1.0)}, "dollars": {"b": (0.0, 0.5)}}
    t = matched.compare({"a": same, "b": same}, lines, budgets={"flops": [2.0], "dollars": [1.0]})
    f, d = t[t.unit == "flops"], t[t.unit == "dollars"]
    assert set(f["winner"]) == {"a|b"} and set(f["models_at_budget"]) == {2}
    assert d["model"].tolist() == ["b"] and d["k"].tolist() == [2] and d["winner"].tolist() == ["b"]


def test_default_grid_spans_the_cheapest_sample_to_the_dearest_run():
    lines = {"flops": {"small": (0.0, 1.0), "big": (2.0, 4.0)}}
    t = matched.compare({"small": SMALL, "big": BIG}, lines, num=12)
    budgets = np.sort(t["budget"].unique())
    assert len(budgets) == 12
    assert budgets[0] == pytest.approx(1.0) and budgets[-1] == pytest.approx(18.0)   # small k=1; big k=4
    first, last = t[t.budget == budgets[0]], t[t.budget == budgets[-1]]
    assert first.set_index("model").loc["small", "k"] == 1 and last.set_index("model").loc["big", "k"] == 4


def test_matches_a_brute_force_over_every_k():
    rng = np.random.default_rng(3)
    counts, lines = {}, {"flops": {}, "dollars": {}}
    for j, m in enumerate(["m0", "m1", "m2"]):
        n = np.full(7, 30 + 10 * j)
        counts[m] = (n, rng.binomial(n, rng.beta(0.5, 2.0, 7)))
        lines["flops"][m] = (float(rng.uniform(0, 50)), float(rng.uniform(1, 10)))
        lines["dollars"][m] = (0.0, float(rng.uniform(0.1, 1)))
    t = matched.compare(counts, lines, num=25)
    for r in t.itertuples():
        fixed, per_k = lines[r.unit][r.model]
        n, c = counts[r.model]
        ks = [k for k in range(1, int(n.min()) + 1) if fixed + k * per_k <= r.budget * (1 + 1e-12)]
        afford_more = fixed + (int(n.min()) + 1) * per_k <= r.budget
        if not ks or afford_more:
            assert np.isnan(r.coverage)
        else:
            assert r.k == max(ks) and r.coverage == pytest.approx(_cov(n, c, max(ks)), abs=1e-12)
    for (unit, bud), g in t.groupby(["unit", "budget"]):
        have = g.dropna(subset=["coverage"])
        assert (g["models_at_budget"] == len(have)).all()
        if len(have):
            best = have["coverage"].max()
            assert set(g["winner"].iloc[0].split("|")) == set(have.loc[have.coverage >= best - 1e-12, "model"])


def test_bad_inputs_are_one_line():
    with pytest.raises(ValueError, match="no per-problem counts for big"):
        matched.compare({"small": SMALL}, {"flops": {"small": (0, 1), "big": (0, 1)}})
    with pytest.raises(ValueError, match="must not be negative"):
        matched.compare({"small": SMALL}, {"flops": {"small": (0, -1)}})
    assert matched.compare({"small": SMALL}, {}).columns.tolist() == matched.COLUMNS
    assert isinstance(matched.compare({"small": SMALL}, {}), pd.DataFrame)


def test_free_samples_buy_every_sample_and_a_zero_price_still_gets_a_grid():
    # empty completions decode nothing (per sample 0): any budget covering the prompts buys all 8 samples
    t = matched.compare({"small": SMALL, "big": BIG}, {"flops": {"small": (5.0, 0.0), "big": (2.0, 4.0)},
                                                        "dollars": {"small": (0.0, 0.0)}}, num=6)
    f = t[(t.unit == "flops") & (t.model == "small")]
    assert set(f["k"]) <= {0, 8} and f.loc[f.budget >= 5, "k"].eq(8).all()
    assert f.loc[f.k == 8, "coverage"].iloc[0] == pytest.approx(_cov(*SMALL, 8))
    d = t[t.unit == "dollars"]
    assert d["budget"].tolist() == [0.0] and d["k"].tolist() == [8] and d["winner"].tolist() == ["small"]
