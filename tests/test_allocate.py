"""Allocation: CBC's plan equals brute force on small cases; it never loses to any single model."""
import itertools

import numpy as np
import pandas as pd
import pytest

from infscale import allocate


def _random_instance(rng, n_models=2, n_bins=3, ks=(1, 2, 4, 8)):
    rows, costs = [], []
    for m in range(n_models):
        for b in range(n_bins):
            p1 = rng.uniform(0.01, 0.6)
            n_prob = int(rng.integers(5, 30))
            for k in ks:
                rows.append({"model": f"m{m}", "bin": b, "k": k, "coverage": 1 - (1 - p1) ** k, "problems": n_prob})
            costs.append({"model": f"m{m}", "bin": b, "cost": float(rng.uniform(1, 10) * (m + 1))})
    curves = pd.DataFrame(rows)
    # problems per bin must agree across models
    curves["problems"] = curves.groupby("bin")["problems"].transform("first")
    return curves, pd.DataFrame(costs)


def _brute(options, budget):
    best = 0.0
    per_bin = [[None] + list(g.index) for _, g in options.groupby("bin")]
    for combo in itertools.product(*per_bin):
        idx = [i for i in combo if i is not None]
        if options.loc[idx, "total_cost"].sum() <= budget + 1e-9:
            best = max(best, options.loc[idx, "value"].sum())
    return best


@pytest.mark.parametrize("seed", range(4))
def test_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    curves, costs = _random_instance(rng)
    options = allocate._options(curves, costs)
    for budget in [0, 50, 300, 1500, 1e6]:
        solved, plan = allocate.solve(options, budget)
        assert solved == pytest.approx(_brute(options, budget), abs=1e-6)
        assert plan["total_cost"].sum() <= budget + 1e-6
        assert plan["bin"].is_unique


def test_frontier_beats_every_single_model_and_is_monotone():
    curves, costs = _random_instance(np.random.default_rng(7))
    budgets = [100, 400, 1600, 6400]
    f = allocate.frontier(curves, costs, budgets)
    alloc = f[f.strategy == "allocated"].set_index("budget")
    assert np.all(np.diff(alloc["solved"]) >= -1e-9)
    for _, r in f[f.strategy != "allocated"].iterrows():
        assert alloc.loc[r["budget"], "solved"] >= r["solved"] - 1e-6
        assert r["cost"] <= r["budget"] + 1e-9
    assert set(f.strategy) == {"allocated", "single:m0", "single:m1"}


def test_difficulty_bins_and_bin_curves():
    rng = np.random.default_rng(0)
    rows = [(f"p{i}", s, bool(rng.random() < i / 50)) for i in range(50) for s in range(8)]
    m = pd.DataFrame(rows, columns=["problem_id", "sample_index", "correct"])
    bins = allocate.difficulty_bins(m, 5)
    assert sorted(bins.value_counts().tolist()) == [10] * 5
    c = allocate.bin_curves(m, bins, [1, 2, 8, 16])
    assert sorted(c["k"].unique()) == [1, 2, 8]  # k > n dropped
    assert sorted(bins.unique()) == [1, 2, 3, 4, 5]  # Snell et al.'s labels: bin 1 = easiest … 5 = hardest
    easy, hard = c[(c.bin == 1) & (c.k == 1)]["coverage"].iloc[0], c[(c.bin == 5) & (c.k == 1)]["coverage"].iloc[0]
    assert easy > hard
    with pytest.raises(ValueError, match="no difficulty bin"):
        allocate.bin_curves(m, bins.iloc[1:], [1])
    with pytest.raises(ValueError, match="no per-sample cost"):
        allocate._options(c.assign(model="x"), pd.DataFrame({"model": ["y"], "bin": [1], "cost": [1.0]}))


def test_allocation_and_search_share_bins_and_pass1():
    """One binning and one pass@1: allocation's bins equal search's oracle bins on the same samples, ties included
    (12 problems, 5 bins: sizes 3,2,3,2,2; four problems tied at pass@1 = 0.5 split by problem_id)."""
    from infscale.search import difficulty as D

    solved = {"a": 8, "b": 4, "c": 4, "d": 4, "e": 4, "f": 0, "g": 7, "h": 1, "i": 2, "j": 6, "k": 3, "l": 5}
    m = pd.DataFrame([(p, s, s < c) for p, c in solved.items() for s in range(8)],
                     columns=["problem_id", "sample_index", "correct"])
    bins = allocate.difficulty_bins(m, 5)
    oracle = D.difficulty_table(m, None, 5).set_index("problem_id")
    assert bins.to_dict() == oracle["oracle_bin"].to_dict()
    assert oracle["pass1"].to_dict() == {p: c / 8 for p, c in solved.items()}
    assert bins.value_counts().sort_index().tolist() == [3, 2, 3, 2, 2]
    assert bins[["a", "g", "j"]].tolist() == [1, 1, 1] and bins[["f", "h"]].tolist() == [5, 5]
    assert bins[["l", "b", "c", "d", "e"]].tolist() == [2, 2, 3, 3, 3]  # tie at 0.5: earlier problem_id is easier
