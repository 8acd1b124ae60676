"""FLOPs-matched exchange against a larger model (Snell et al. 2024, §7): M + 3(M−1)/R."""


import pandas as pd
import pytest

from infscale import io
from infscale.search import run as R
from infscale.search.exchange import exchange_table, multiplier


def test_multiplier_matches_the_paper_for_m14():
    got = multiplier(14, [0.16, 0.79, 22])
    assert got[0] == pytest.approx(258, rel=0.01)
    assert got[1] == pytest.approx(63, rel=0.01)
    assert got[2] == pytest.approx(16, rel=0.02)
    assert multiplier(1, 0.5) == 1.0                 # same model: no exchange
    assert multiplier(14, 1e9) == pytest.approx(14)  # inference-dominated: just the size ratio
    with pytest.raises(ValueError):
        multiplier(14, 0)
    with pytest.raises(ValueError):
        multiplier(0.5, 1)


def _co():
    rows = []
    for b, accs in ((1, [0.5, 0.7, 0.8, 0.9]), (2, [0.1, 0.2, 0.2, 0.3])):
        for x, a in zip((1, 16, 64, 256), accs):
            rows.append({"bin_kind": "oracle", "bin": b, "budget": x, "accuracy": a, "n_problems": 2})
    return pd.DataFrame(rows)


def test_exchange_table_uses_the_largest_budget_within_the_multiplier():
    diff = pd.DataFrame({"problem_id": ["a", "b", "c", "d"], "oracle_bin": [1, 1, 2, 2]})
    larger = pd.DataFrame({"problem_id": ["a", "a", "b", "b", "c", "c", "d", "d"],
                           "correct": [True, True, True, False, False, False, True, False]})
    t = exchange_table(_co(), diff, 14, (0.16, 0.79, 22), larger)
    assert len(t) == 6
    b1 = t[t["bin"] == 1].set_index("R")
    assert b1.loc[0.16, "budget_used"] == 256 and b1.loc[0.16, "small_accuracy"] == 0.9
    assert not b1.loc[0.16, "matched"]                                                      # 256 < 257.75
    assert b1.loc[0.79, "budget_used"] == 16 and b1.loc[0.79, "small_accuracy"] == 0.7   # 63× → 16 (64 > 63.4)
    assert b1.loc[22, "budget_used"] == 1 and b1.loc[22, "matched"]                        # 15.8× → 1 (16 > 15.8)
    assert b1.loc[0.16, "large_accuracy"] == 0.75 and b1.loc[0.16, "delta"] == pytest.approx(0.15)
    b2 = t[t["bin"] == 2].set_index("R")
    assert b2.loc[0.16, "large_accuracy"] == 0.25
    more = pd.concat([_co(), pd.DataFrame([{"bin_kind": "oracle", "bin": 1, "budget": 512, "accuracy": 0.95,
                                            "n_problems": 2}])])
    m1 = exchange_table(more, diff, 14, (0.16,))
    assert m1.loc[m1["bin"] == 1, "matched"].item() and m1.loc[m1["bin"] == 1, "budget_used"].item() == 256
    # without the larger model's samples, only the small model's side
    assert "large_accuracy" not in exchange_table(_co(), diff, 14).columns


def test_exchange_entry_point_writes_table_and_plot(tmp_path):
    diff = pd.DataFrame({"problem_id": ["a", "b", "c", "d"], "oracle_bin": [1, 1, 2, 2]})
    io.write_parquet(diff, tmp_path / "bins.parquet")
    _co().to_csv(tmp_path / "co.csv", index=False)
    ex = R.exchange(str(tmp_path / "bins.parquet"), str(tmp_path / "co.csv"), str(tmp_path / "ex.csv"),
                    str(tmp_path / "ex.png"), model="m", dataset="d", m=14, ratios=[0.16, 0.79, 22])
    back = pd.read_csv(tmp_path / "ex.csv")
    assert len(back) == len(ex) == 6 and set(back["R"]) == {0.16, 0.79, 22}
    assert (tmp_path / "ex.png").read_bytes()[:4] == b"\x89PNG"
    assert back["small_accuracy"].notna().all()
