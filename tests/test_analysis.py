"""Analysis entry points on real parquet files: every output is written and consistent with the modules."""

import numpy as np
import pandas as pd
import pytest

from infscale import allocate, cost, fit, flops, matched, selection
from infscale.coverage import write_coverage

from analysis_synth import write_workspace


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    root = tmp_path_factory.mktemp("ws")
    cfg = write_workspace(root)
    return root, cfg


def test_chain_coverage_fit_flops_cost(ws):
    root, cfg = ws
    m = root / "results/merged/small/toy.parquet"
    a = root / "results/analysis"
    cov = write_coverage(m, a / "cov.csv", a / "pp.csv", a / "cov.png", "toy", n_boot=100)
    assert len(cov) == 64 and (cov["ci_low"] <= cov["coverage"] + 1e-12).all()
    pp = pd.read_csv(a / "pp.csv")
    assert pp["n"].eq(64).all() and len(pp) == 30
    fits = fit.fit_all(cov["k"].to_numpy(), cov["coverage"].to_numpy())
    assert set(fits["method"]) == {"curve_fit", "log_space"} and (fits["b"] < 0).all()
    fl = flops.run(m, a / "cov.csv", {}, root / "configs/small/config.json", a / "fl.csv", a / "flp.csv")
    assert fl["n_params"].iloc[0] == 134_515_008
    # the one shape key: given outright it needs no config.json; n_params alone overrides the file's count
    given = flops.run(m, a / "cov.csv", {"n_params": 1e8, "n_layers": 30, "d_model": 576}, None,
                               a / "fl2.csv", a / "flp2.csv")
    assert (given["n_params"].iloc[0], given["n_layers"].iloc[0]) == (1e8, 30)
    over = flops.run(m, a / "cov.csv", {"n_params": 1e8}, root / "configs/small/config.json",
                              a / "fl3.csv", a / "flp3.csv")
    assert over["flops_v3"].to_numpy() == pytest.approx(given["flops_v3"].to_numpy())
    with pytest.raises(ValueError, match="models.<model>.shape"):
        flops.run(m, a / "cov.csv", {}, None, a / "fl4.csv", a / "flp4.csv")
    assert not (a / "fl4.csv").exists()
    assert np.all(np.diff(fl["flops_v3"]) > 0) and (fl["flops_v1"] > 0).all()
    co = cost.run(m, a / "cov.csv", cfg["models"]["small"]["price"], a / "co.csv", a / "cop.csv")
    assert co["dollars"].iloc[1] == pytest.approx(2 * co["dollars"].iloc[0])
    with pytest.raises(ValueError, match="price"):
        cost.run(m, a / "cov.csv", {}, a / "x.csv", a / "y.csv")
    assert not (a / "x.csv").exists()


def test_selection_and_allocate(ws):
    root, _ = ws
    a = root / "results/analysis"
    sel = selection.run(root / "results/merged/small/toy.parquet", a / "sel.csv", [1, 8], trials=10,
                                 out_gap=a / "gap.csv", out_verifiers=a / "ver.csv")
    assert {"majority", "oracle", "best_of_n", "weighted"} == set(sel["method"])
    gap = pd.read_csv(a / "gap.csv")
    assert list(gap["k"]) == [1, 8] and (gap["gap"] >= -1e-12).all()
    ver = pd.read_csv(a / "ver.csv")
    assert list(ver["verifier"]) == ["reward"] and ver["auroc"].between(0, 1).all()
    o = sel[sel.method == "oracle"].set_index("k")["mean"]
    assert o.loc[8] >= o.loc[1]
    merged = {m: root / f"results/merged/{m}/toy.parquet" for m in ("small", "big")}
    costs = {}
    for m in merged:
        write_coverage(merged[m], a / f"c_{m}.csv", a / f"p_{m}.csv", a / f"c_{m}.png", m, n_boot=50)
        flops.run(merged[m], a / f"c_{m}.csv", {}, root / f"configs/{m}/config.json", a / f"f_{m}.csv",
                           a / f"fp_{m}.csv")
        costs[m] = a / f"fp_{m}.csv"
    t = allocate.run(merged, costs, a / "alloc.csv", n_bins=3)
    alloc = t[t.strategy == "allocated"].set_index("budget")["solved"]
    for _, r in t[t.strategy != "allocated"].iterrows():
        assert alloc.loc[r["budget"]] >= r["solved"] - 1e-6
    mt = matched.run({m: a / f"p_{m}.csv" for m in merged}, {m: a / f"fp_{m}.csv" for m in merged}, {},
                              a / "matched.csv", a / "matched.png", "tiny on toy")
    assert list(pd.read_csv(a / "matched.csv").columns[:6]) == ["unit", "budget", "model", "coverage", "winner",
                                                                 "models_at_budget"]
    assert set(mt["unit"]) == {"flops"} and set(mt["winner"].dropna()) <= {"small", "big", "big|small"}
    assert (a / "matched.png").stat().st_size > 5000


def test_bad_merged_is_one_clear_error(tmp_path):
    from infscale import io
    io.write_parquet(pd.DataFrame({"problem_id": ["a"], "sample_index": [0]}), tmp_path / "m.parquet")
    with pytest.raises(Exception, match="missing column"):
        write_coverage(tmp_path / "m.parquet", tmp_path / "c.csv", tmp_path / "p.csv", tmp_path / "c.png", "t")
    assert not (tmp_path / "c.csv").exists()
