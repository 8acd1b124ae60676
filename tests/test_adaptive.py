"""Adaptive sampling simulated on stored samples in index order (infscale.adaptive): hand cases and a real
merged parquet in the merged contract's layout."""
import numpy as np
import pandas as pd
import pytest

from analysis_synth import merged_frame
from infscale import adaptive, io
from infscale.contracts import ContractError


def _hand():
    # a: first success at sample 2, second at 4; b: never; c: every sample (shuffled rows: order comes from index)
    df = pd.DataFrame({"problem_id": ["a"] * 5 + ["b"] * 5 + ["c"] * 5, "sample_index": list(range(5)) * 3,
                       "correct": [0, 1, 0, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1]})
    return df.sample(frac=1, random_state=0)


def test_stop_times_follow_sample_index_order():
    t1, n = adaptive.stop_times(_hand(), 1)
    t2, _ = adaptive.stop_times(_hand(), 2)
    assert t1.tolist() == [2, 6, 1] and t2.tolist() == [4, 6, 2] and n.tolist() == [5, 5, 5]


def test_simulated_spend_by_hand():
    t = adaptive.simulate(_hand(), solved=[1, 2], ks=[1, 2, 5]).set_index(["policy", "solved_stop", "k"])
    assert t.loc[("uniform", 0, 5), "samples_spent"] == 15
    assert t.loc[("discard", 1, 5), "samples_spent"] == 2 + 5 + 1
    assert t.loc[("discard", 2, 5), "samples_spent"] == 4 + 5 + 2
    assert t.loc[("discard", 1, 2), "samples_spent"] == 2 + 2 + 1
    # coverage is the same for every policy at the same cap: a problem is solved once it has one success
    assert t.loc[("discard", 1, 2), "coverage"] == t.loc[("uniform", 0, 2), "coverage"] == pytest.approx(2 / 3)
    assert t.loc[("discard", 1, 5), "saving"] == pytest.approx(1 - 8 / 15)


def test_stage_on_a_merged_parquet(tmp_path):
    m = merged_frame("small", "toy", n_problems=30, n=64)
    io.write_parquet(m, tmp_path / "m.parquet")
    t = adaptive.write_adaptive(tmp_path / "m.parquet", tmp_path / "a.csv")
    assert pd.read_csv(tmp_path / "a.csv").shape == t.shape
    top = t[t["k"] == 64].set_index("policy")
    solved_first = m.sort_values("sample_index").groupby("problem_id")["correct"].apply(
        lambda s: int(np.argmax(s.to_numpy())) + 1 if s.any() else 65)
    assert top.loc["discard", "samples_spent"] == np.minimum(solved_first, 64).sum()
    assert top.loc["uniform", "coverage"] == pytest.approx(m.groupby("problem_id")["correct"].any().mean())
    assert 0 < top.loc["discard", "saving"] < 1


def test_empty_table_is_one_clear_error(tmp_path):
    with pytest.raises(ContractError, match="no rows"):
        adaptive.simulate(pd.DataFrame({"problem_id": [], "sample_index": [], "correct": []}))
