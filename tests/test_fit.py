"""Scaling-law fit: recover the Monkeys Fig. 5 (a, b) from curves generated with them; hand cases."""
import numpy as np
import pytest

from infscale import fit
from infscale.coverage import coverage_from_counts

FIG5 = {  # Brown et al. 2024 (arXiv 2407.21787), Fig. 5
    "Llama-3-8B-Instruct, MATH": (-1.33, -0.43),
    "Llama-3-70B-Instruct, MATH": (-0.75, -0.46),
    "Llama-3-8B-Instruct, CodeContests": (-3.88, -0.11),
}


@pytest.mark.parametrize("name", list(FIG5))
def test_recovers_fig5_parameters(name):
    a, b = FIG5[name]
    ks = np.arange(1, 10001)
    cov = fit.law(ks, a, b)
    for method in (fit.fit_curve_fit, fit.fit_log_space):
        ea, eb = method(ks, cov)
        assert ea == pytest.approx(a, abs=1e-4) and eb == pytest.approx(b, abs=1e-4)
    table = fit.fit_all(ks, cov)
    assert (table["err_mean"] < 1e-6).all()
    assert (table["extrap_err"] < 1e-4).all()


def test_noisy_curve_error_reported():
    a, b = FIG5["Llama-3-8B-Instruct, MATH"]
    ks = np.arange(1, 1001)
    rng = np.random.default_rng(0)
    cov = np.clip(fit.law(ks, a, b) + rng.normal(0, 0.01, len(ks)), 1e-6, 1 - 1e-6)
    t = fit.fit_all(ks, cov).set_index("method")
    assert t.loc["curve_fit", "a"] == pytest.approx(a, abs=0.1)
    assert t.loc["curve_fit", "b"] == pytest.approx(b, abs=0.1)
    assert 0.001 < t.loc["curve_fit", "err_mean"] < 0.02


def test_hand_points_log_space():
    # log(-log c) = log(-a) + b log k with a = -2, b = -0.5: c(1) = e^-2, c(4) = e^-1; the paper grid up to k = 4
    # is {1, 2, 3, 4}, all in the table, so the fit is exact
    ks = np.array([1, 2, 3, 4])
    a, b = fit.fit_log_space(ks, fit.law(ks, -2, -0.5))
    assert a == pytest.approx(-2) and b == pytest.approx(-0.5)
    assert fit.law(4, -2, -0.5) == pytest.approx(np.exp(-1))


def test_log_space_uses_the_paper_grid_whatever_k_the_table_holds():
    # issue 15: on every k the old fit gave one answer, on 40 log-spaced k another; now both read the same grid
    rng = np.random.default_rng(5)
    c = rng.binomial(10000, rng.beta(0.15, 5, 140))
    every = np.arange(1, 10001)
    cov_every = coverage_from_counts(np.full(140, 10000), c, every)
    grid = fit.log_ks(10000, 40)
    dense = fit.fit_log_space(every, cov_every)
    sparse = fit.fit_log_space(grid, cov_every[grid - 1])
    assert dense == pytest.approx(sparse, rel=1e-9)


def test_fit_on_real_estimator_curve_and_extrapolation_columns():
    rng = np.random.default_rng(3)
    n = 1000
    c = rng.binomial(n, rng.beta(0.2, 4, 300))
    ks = np.arange(1, n + 1)
    cov = coverage_from_counts(np.full(300, n), c, ks)
    t = fit.fit_all(ks, cov, n=n)
    assert set(t["method"]) == {"curve_fit", "log_space"}
    assert (t["a"] < 0).all() and (t["b"] < 0).all()
    assert t["coverage_at_n"].iloc[0] == pytest.approx(cov[-1])
    assert np.isfinite(t["extrap_err"]).all()


def test_all_zero_coverage_is_a_clear_error():
    with pytest.raises(ValueError, match="coverage is 0"):
        fit.fit_curve_fit([1, 2, 3], [0, 0, 0])
    t = fit.fit_all([1, 2, 3, 4], [0, 0, 0, 0])
    assert t["a"].isna().all() and t["error"].notna().all()


# ---- distributional forecasts (infscale.forecast; Schaeffer et al. 2025, arXiv 2502.17578) ----
from scipy import integrate, special, stats  # noqa: E402

import pandas as pd  # noqa: E402

from infscale import forecast  # noqa: E402


def _fit(method, alpha, beta, scale=1.0, pi=0.0):
    return forecast.DistFit(method, alpha, beta, scale=scale, pi=pi)


@pytest.mark.parametrize("alpha,beta", [(0.3, 3.0), (1.5, 0.7), (0.05, 40.0)])
def test_beta_binomial_survival_matches_the_integral(alpha, beta):
    for k in (1, 7, 100, 10000):
        want = integrate.quad(lambda p: (1 - p) ** k * stats.beta.pdf(p, alpha, beta), 0, 1, limit=500,
                              points=[1e-6, 1e-4, 1e-2])[0]
        assert _fit("beta_binomial", alpha, beta).survival([k])[0] == pytest.approx(want, rel=1e-4, abs=1e-10)


def test_scaled_survival_matches_hyp2f1_and_reduces_to_beta_binomial():
    # E[(1 − s·q)^k] = 2F1(−k, α; α + β; s) for q ~ Beta(α, β) (Schaeffer et al. 2025)
    for alpha, beta, s in ((0.3, 3.0, 0.7), (0.8, 1.2, 0.25), (2.0, 5.0, 1.0)):
        f = _fit("scaled_beta", alpha, beta, scale=s)
        for k in (1, 5, 30, 200):
            assert f.survival([k])[0] == pytest.approx(special.hyp2f1(-k, alpha, alpha + beta, s), rel=1e-5)
    ks = [1, 10, 1000, 100000]
    assert _fit("scaled_beta", 0.3, 3.0, scale=1.0).survival(ks) == pytest.approx(
        _fit("beta_binomial", 0.3, 3.0).survival(ks), rel=1e-4)  # quadrature: 2e-5 at k = 10^5


def test_zero_inflated_coverage_and_likelihood_are_the_mixture():
    f = _fit("zero_inflated", 0.5, 2.0, pi=0.25)
    bb = _fit("beta_binomial", 0.5, 2.0)
    assert f.coverage([1, 50, 10 ** 6]) == pytest.approx(0.75 * bb.coverage([1, 50, 10 ** 6]))
    obj = forecast._Objective("zero_inflated", np.array([20, 20]), np.array([0, 3]))
    ll = obj.loglik(np.array([[np.log(0.5), np.log(2.0), special.logit(0.25)]]))[0]
    bbpmf = stats.betabinom.pmf([0, 3], 20, 0.5, 2.0)
    assert np.exp(ll) == pytest.approx([0.25 + 0.75 * bbpmf[0], 0.75 * bbpmf[1]])


def test_scaled_likelihood_matches_the_integral():
    obj = forecast._Objective("scaled_beta", np.array([50, 50, 1000]), np.array([0, 7, 300]), scale=0.6)
    ll = obj.loglik(np.array([[np.log(0.4), np.log(2.5)]]))[0]
    for (n, c), v in zip([(50, 0), (50, 7), (1000, 300)], ll):
        want = integrate.quad(lambda q: stats.binom.pmf(c, n, 0.6 * q) * stats.beta.pdf(q, 0.4, 2.5), 0, 1,
                              limit=500, points=[1e-4, 0.1, 0.5])[0]
        assert np.exp(v) == pytest.approx(want, rel=1e-4)


# Recovery at the sample sizes used (1,000 problems × 100 samples). Tolerances are wider than the spread seen
# over 20 seeds (beta-binomial α ±9%, β ±13%; scaled α ±10%, β ±16%; zero-inflated α ±13%, β ±13%, π ±0.03).
def test_beta_binomial_recovers_known_parameters():
    rng = np.random.default_rng(1)
    c = rng.binomial(100, rng.beta(0.3, 3.0, 1000))
    f = forecast.fit("beta_binomial", np.full(1000, 100), c, n_boot=50)
    assert f.alpha == pytest.approx(0.3, rel=0.12) and f.beta == pytest.approx(3.0, rel=0.2)
    lo, hi = f.coverage_ci([10 ** 4])
    assert lo[0] < _fit("beta_binomial", 0.3, 3.0).coverage([10 ** 4])[0] < hi[0]


def test_scaled_beta_recovers_known_parameters():
    rng = np.random.default_rng(2)
    c = rng.binomial(100, 0.6 * rng.beta(0.5, 2.0, 1000))
    f = forecast.fit("scaled_beta", np.full(1000, 100), c, n_boot=0)
    assert f.scale == pytest.approx(0.6, abs=0.1)  # the largest pass_i@1
    assert f.alpha == pytest.approx(0.5, rel=0.15) and f.beta == pytest.approx(2.0, rel=0.25)


def test_zero_inflated_recovers_known_parameters():
    rng = np.random.default_rng(3)
    p = np.where(rng.random(1000) < 0.4, 0.0, rng.beta(1.0, 4.0, 1000))
    f = forecast.fit("zero_inflated", np.full(1000, 100), rng.binomial(100, p), n_boot=0)
    assert f.pi == pytest.approx(0.4, abs=0.05)
    assert f.alpha == pytest.approx(1.0, rel=0.2) and f.beta == pytest.approx(4.0, rel=0.2)


def test_unequal_n_is_fitted_and_mixed_coverage_is_exact_where_it_can_be():
    rng = np.random.default_rng(4)
    n = rng.choice([50, 200, 1000], 600)
    c = rng.binomial(n, rng.beta(0.4, 3.0, 600))
    f = forecast.fit("beta_binomial", n, c, n_boot=0)
    assert f.alpha == pytest.approx(0.4, rel=0.15)
    ks = np.array([1, 10, 50, 51, 500, 5000])
    mixed, exact = forecast.coverage_mixed(n, c, ks, f)
    assert exact.tolist() == [True, True, True, False, False, False]
    assert mixed[:3] == pytest.approx(coverage_from_counts(n, c, ks[:3]))
    # hand value at k = 5000: solved problems count 1; an unsolved one with n_i samples has 1 − S(k)/S(n_i)
    S = f.survival
    want = np.mean([1.0 if ci > 0 else 1 - S([5000])[0] / S([ni])[0] for ni, ci in zip(n, c)])
    assert mixed[-1] == pytest.approx(want)
    no_fit, _ = forecast.coverage_mixed(n, c, ks, None)
    assert np.isnan(no_fit[-1]) and np.isfinite(no_fit[0])


def test_nothing_solved_is_a_clear_error():
    with pytest.raises(ValueError, match="no problem was solved"):
        forecast.fit("beta_binomial", [10, 10], [0, 0])
    with pytest.raises(ValueError, match="0 <= c <= n"):
        forecast.fit("beta_binomial", [10, 10], [0, 11])


def _stage(tmp_path, c, n=1000):
    ks = np.arange(1, n + 1)
    curve = pd.DataFrame({"k": ks, "coverage": coverage_from_counts(np.full(len(c), n), c, ks)})
    curve.to_csv(tmp_path / "cov.csv", index=False)
    pd.DataFrame({"problem_id": [f"q{i}" for i in range(len(c))], "n": n, "c": c}).to_csv(tmp_path / "pp.csv",
                                                                                           index=False)
    out = [tmp_path / x for x in ("fits.csv", "forecast.csv", "fit.png")]
    fits = fit.write_fits(tmp_path / "cov.csv", tmp_path / "pp.csv", *out, "toy", k_max=10 * n, n_boot=50)
    return fits, pd.read_csv(out[1]), out


def test_fit_stage_writes_fits_forecast_and_plot(tmp_path):
    rng = np.random.default_rng(6)
    c = rng.binomial(1000, rng.beta(0.3, 3.0, 140))
    fits, fc, out = _stage(tmp_path, c)
    assert list(fits["method"]) == ["curve_fit", "log_space", *forecast.METHODS]
    # the columns infscale.paper and the report read stay
    assert {"method", "a", "b", "err_mean", "err_std", "extrap_err", "coverage_at_n"} <= set(fits.columns)
    d = fits.set_index("method")
    assert (d["b"] < 0).all() and (d["k_max"] == 10000).all()
    for m in forecast.METHODS:
        assert d.loc[m, "forecast_low"] <= d.loc[m, "forecast"] <= d.loc[m, "forecast_high"]
    assert (fits["note"].fillna("") == "").all() and (fits["solved"] == (c > 0).sum()).all()
    assert set(fc["kind"]) == {"data", "fit", "forecast"}
    assert (fc.loc[fc["kind"] == "forecast", "k"] > 1000).all() and fc["k"].max() == 10000
    assert out[2].stat().st_size > 0


def test_fit_on_fewer_than_three_solved_problems_says_so(tmp_path):
    c = np.zeros(40, dtype=int)
    c[:2] = [3, 40]
    fits, _, out = _stage(tmp_path, c, n=200)
    assert fits["note"].str.contains("2 solved problems").all()
    assert "not a scaling law" in fits["note"].iloc[0]
