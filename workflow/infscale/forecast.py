"""Forecast coverage from the distribution of per-problem pass rates (distributional fits).

A problem's pass rate p is drawn from a fitted distribution; one problem is solved within k samples with
probability 1 − (1 − p)^k, so coverage(k) = 1 − E[(1 − p)^k] for any k, also far beyond the samples drawn
(Levi 2025, arXiv 2410.16377; Schaeffer et al. 2025, arXiv 2502.17578). Fits are maximum likelihood on the
per-problem counts (n_i, c_i), so problems with different n_i are handled exactly.

Three families:
  - beta_binomial: p ~ Beta(α, β). E[(1−p)^k] = B(α, β+k)/B(α, β); c_i | n_i is beta-binomial,
    log P = log C(n, c) + log B(c+α, n−c+β) − log B(α, β).
  - scaled_beta: p = s·q, q ~ Beta(α, β), with the scale s fixed at the largest observed pass_i@1 = c_i/n_i
    (Schaeffer et al. 2025, §5: the scaled 3-parameter Beta); E[(1−sq)^k] = ₂F₁(−k, α; α+β; s). The likelihood
    and the forecast are integrals over q, done by quadrature on a fixed logit grid (tails as point masses).
  - zero_inflated: with probability π a problem is never solved (p = 0), else p ~ Beta(α, β);
    E[(1−p)^k] = π + (1−π)·B(α, β+k)/B(α, β). For tasks where many problems stay unsolved (CodeContests, MiniF2F).

Confidence intervals are a percentile bootstrap over problems: problems are resampled with replacement
(multinomial weights on the distinct (n, c) pairs) and every replicate is refitted at once by a batched,
damped Newton method started from the full-data fit (vectorised over replicates; no Python loop per replicate).

Coverage at k when some problems already have n_i samples (`coverage_mixed`): the exact unbiased pass@k where
k ≤ n_i (Chen et al. 2021); for a problem with k > n_i, it is solved if c_i > 0, else the forecast
1 − E[(1−p)^k | no success in n_i] = 1 − S(k)/S(n_i), with S(k) = E[(1−p)^k] from the fit. Such values are
labelled `forecast`, never `exact`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize
from scipy.special import betainc, betaln, expit, gammaln, logit

from .coverage import problem_weights

METHODS = ("beta_binomial", "scaled_beta", "zero_inflated")
N_BOOT = 200
LEVEL = 0.95
# box for the unconstrained parameters: log α, log β, logit π
_LOG_LO, _LOG_HI = np.log(1e-3), np.log(1e7)
_LOGIT_LO, _LOGIT_HI = -12.0, 12.0
# quadrature grid in t = logit(q) for the scaled model; spacing well below the width of a binomial
# likelihood at 10⁴ samples (≈ 0.02 in logit at p = 0.5)
_GRID = np.arange(-28.0, 14.0 + 1e-9, 0.02)


def _counts(n, c):
    n = np.asarray(n, dtype=np.int64).reshape(-1)
    c = np.asarray(c, dtype=np.int64).reshape(-1)
    if len(n) != len(c) or len(n) == 0:
        raise ValueError("forecast: need the same, non-zero number of n and c values")
    if np.any(n < 1) or np.any(c < 0) or np.any(c > n):
        raise ValueError("forecast: need n >= 1 and 0 <= c <= n for every problem")
    return n, c


def _pairs(n, c):
    """Distinct (n, c) pairs, how many problems each has, and the inverse map."""
    pairs, inverse, counts = np.unique(np.stack([n, c], axis=1), axis=0, return_inverse=True, return_counts=True)
    return pairs[:, 0], pairs[:, 1], counts.astype(np.float64), np.asarray(inverse).reshape(-1)


def _log_choose(n, c):
    return gammaln(n + 1.0) - gammaln(c + 1.0) - gammaln(n - c + 1.0)


class _Scaled:
    """Quadrature in t = logit(q) for p = s·q, q ~ Beta(α, β); q below/above the grid is a point mass at 0 / 1."""

    def __init__(self, s: float):
        self.s = float(s)
        self.q = expit(_GRID)
        self.logq = -np.logaddexp(0.0, -_GRID)
        self.log1mq = -np.logaddexp(0.0, _GRID)
        self.dt = np.gradient(_GRID)
        self.q_lo, self.q_hi = self.q[0], self.q[-1]
        self.nodes = np.r_[0.0, self.q, 1.0]  # q values, with the two tail masses at the ends

    def weights(self, alpha, beta):
        """Probability of each node, shape (B, G + 2), for parameter vectors alpha, beta (B,)."""
        a, b = alpha[:, None], beta[:, None]
        w = np.exp(a * self.logq + b * self.log1mq - betaln(a, b)) * self.dt
        lo = betainc(alpha, beta, self.q_lo)
        hi = 1.0 - betainc(alpha, beta, self.q_hi)
        inner = np.maximum(1.0 - lo - hi, 0.0)
        w *= (inner / np.maximum(w.sum(axis=1), 1e-300))[:, None]  # the grid carries exactly the inner mass
        return np.concatenate([lo[:, None], w, hi[:, None]], axis=1)

    def log_lik_matrix(self, n, c):
        """log Binomial(c | n, s·q) at every node, shape (pairs, G + 2), and each row's max."""
        p = self.s * self.nodes
        with np.errstate(divide="ignore", invalid="ignore"):
            logp, log1mp = np.log(p), np.log1p(-p)
            L = _log_choose(n, c)[:, None] + np.where(c[:, None] > 0, c[:, None] * logp, 0.0) \
                + np.where((n - c)[:, None] > 0, (n - c)[:, None] * log1mp, 0.0)
        m = L.max(axis=1, keepdims=True)
        return np.exp(L - m), m[:, 0]

    def survival(self, alpha, beta, ks):
        w = self.weights(alpha, beta)
        ks = np.asarray(ks, dtype=np.float64)
        with np.errstate(divide="ignore"):
            log1m = np.log1p(-self.s * self.nodes)
        return w @ np.exp(np.outer(log1m, ks))


def _unpack(method, theta):
    """Unconstrained θ (B, d) → (α, β, π) arrays."""
    alpha, beta = np.exp(theta[:, 0]), np.exp(theta[:, 1])
    pi = expit(theta[:, 2]) if method == "zero_inflated" else np.zeros(len(theta))
    return alpha, beta, pi


def _box(method):
    d = 3 if method == "zero_inflated" else 2
    lo = np.array([_LOG_LO, _LOG_LO, _LOGIT_LO][:d])
    hi = np.array([_LOG_HI, _LOG_HI, _LOGIT_HI][:d])
    return lo, hi


class _Objective:
    """Per-pair log-likelihood for a batch of parameter vectors: (B, d) → (B, pairs)."""

    def __init__(self, method, n, c, scale=None):
        self.method, self.n, self.c = method, n.astype(np.float64), c.astype(np.float64)
        self.logC = _log_choose(self.n, self.c)
        if method == "scaled_beta":
            self.scaled = _Scaled(scale)
            self.E, self.m = self.scaled.log_lik_matrix(self.n, self.c)

    def loglik(self, theta):
        alpha, beta, pi = _unpack(self.method, theta)
        if self.method == "scaled_beta":
            w = self.scaled.weights(alpha, beta)
            with np.errstate(divide="ignore"):
                return self.m[None, :] + np.log(np.maximum(w @ self.E.T, 1e-300))
        a, b = alpha[:, None], beta[:, None]
        bb = self.logC[None, :] + betaln(self.c[None, :] + a, self.n[None, :] - self.c[None, :] + b) - betaln(a, b)
        if self.method == "beta_binomial":
            return bb
        zero = np.where(self.c[None, :] == 0, 0.0, -np.inf)
        with np.errstate(divide="ignore"):
            return np.logaddexp(np.log(pi)[:, None] + zero, np.log1p(-pi)[:, None] + bb)


def _start(method, n, c):
    """Starting points: the method of moments on pass_i@1 and two generic shapes."""
    r = c / n
    mu, var = float(r.mean()), float(r.var())
    starts = [(0.3, 3.0), (1.0, 10.0), (0.1, 100.0)]
    if 0 < mu < 1 and var > 0:
        nu = mu * (1 - mu) / var - 1
        if nu > 0:
            starts.insert(0, (mu * nu, (1 - mu) * nu))
    out = []
    for a, b in starts:
        t = [np.log(a), np.log(b)]
        if method == "zero_inflated":
            t.append(logit(np.clip((c == 0).mean() * 0.5 + 1e-3, 1e-3, 0.9)))
        out.append(np.clip(t, *_box(method)))
    return out


def _newton(f, theta, lo, hi, iters: int = 40, h: float = 1e-3):
    """Minimise f: (B, d) → (B,) for every row at once: damped Newton (Levenberg) with central differences."""
    theta = theta.copy()
    B, d = theta.shape
    fx = f(theta)
    lam = np.full(B, 1e-3)
    eye = np.eye(d)
    for _ in range(iters):
        plus = [f(np.clip(theta + h * eye[i], lo, hi)) for i in range(d)]
        minus = [f(np.clip(theta - h * eye[i], lo, hi)) for i in range(d)]
        g = np.stack([(plus[i] - minus[i]) / (2 * h) for i in range(d)], axis=1)
        H = np.empty((B, d, d))
        for i in range(d):
            H[:, i, i] = (plus[i] - 2 * fx + minus[i]) / h ** 2
            for j in range(i + 1, d):
                e = h * (eye[i] + eye[j]), h * (eye[i] - eye[j])
                v = (f(np.clip(theta + e[0], lo, hi)) - f(np.clip(theta + e[1], lo, hi))
                     - f(np.clip(theta - e[1], lo, hi)) + f(np.clip(theta - e[0], lo, hi))) / (4 * h * h)
                H[:, i, j] = H[:, j, i] = v
        Hd = H + (lam[:, None, None] * (np.abs(np.diagonal(H, axis1=1, axis2=2))[:, :, None] + 1.0)) * eye
        try:
            step = -np.linalg.solve(Hd, g[:, :, None])[:, :, 0]
        except np.linalg.LinAlgError:
            step = -g * 1e-3
        step = np.where(np.isfinite(step), step, 0.0)
        step = np.clip(step, -2.0, 2.0)
        cand = np.clip(theta + step, lo, hi)
        fc = f(cand)
        better = np.isfinite(fc) & (fc < fx)
        theta[better], fx[better] = cand[better], fc[better]
        lam = np.where(better, np.maximum(lam / 3, 1e-6), np.minimum(lam * 5, 1e6))
        if np.all(np.abs(step).max(axis=1) < 1e-6):
            break
    return theta, fx


@dataclass
class DistFit:
    """One distributional fit: parameters, log-likelihood, and bootstrap replicates of the parameters."""

    method: str
    alpha: float
    beta: float
    scale: float = 1.0
    pi: float = 0.0
    loglik: float = float("nan")
    n_free: int = 2
    problems: int = 0
    solved: int = 0
    boot: np.ndarray = field(default_factory=lambda: np.empty((0, 3)))  # (B, 3): α, β, π per replicate
    level: float = LEVEL

    @property
    def aic(self) -> float:
        return 2 * self.n_free - 2 * self.loglik

    def _survival(self, alpha, beta, pi, ks):
        ks = np.asarray(ks, dtype=np.float64)
        alpha, beta, pi = (np.atleast_1d(np.asarray(x, dtype=np.float64)) for x in (alpha, beta, pi))
        if self.method == "scaled_beta":
            return _Scaled(self.scale).survival(alpha, beta, ks)
        a, b = alpha[:, None], beta[:, None]
        s = np.exp(betaln(a, b + ks[None, :]) - betaln(a, b))
        return pi[:, None] + (1 - pi[:, None]) * s

    def survival(self, ks) -> np.ndarray:
        """S(k) = E[(1 − p)^k] at each k (S(0) = 1)."""
        return self._survival(self.alpha, self.beta, self.pi, ks)[0]

    def coverage(self, ks) -> np.ndarray:
        """Forecast coverage(k) = 1 − E[(1 − p)^k]."""
        return 1.0 - self.survival(ks)

    def coverage_ci(self, ks) -> tuple[np.ndarray, np.ndarray]:
        """Percentile bootstrap interval (over problems) of the forecast coverage at each k."""
        if len(self.boot) == 0:
            nan = np.full(len(np.atleast_1d(ks)), np.nan)
            return nan, nan
        reps = 1.0 - self._survival(self.boot[:, 0], self.boot[:, 1], self.boot[:, 2], ks)
        alpha = (1 - self.level) / 2
        lo, hi = np.quantile(reps, [alpha, 1 - alpha], axis=0)
        return lo, hi

    def params(self) -> dict:
        return {"alpha": self.alpha, "beta": self.beta, "scale": self.scale, "pi": self.pi,
                "loglik": self.loglik, "aic": self.aic, "n_free": self.n_free}


def fit(method: str, n, c, n_boot: int = N_BOOT, level: float = LEVEL, seed: int = 0) -> DistFit:
    """Maximum-likelihood fit of one family to per-problem (n_i, c_i), with `n_boot` bootstrap refits."""
    if method not in METHODS:
        raise ValueError(f"forecast: unknown method {method!r} (known: {', '.join(METHODS)})")
    n, c = _counts(n, c)
    if c.sum() == 0:
        raise ValueError("forecast: no problem was solved, so no pass-rate distribution can be fitted")
    un, uc, counts, inverse = _pairs(n, c)
    scale = float((c / n).max()) if method == "scaled_beta" else 1.0
    obj = _Objective(method, un, uc, scale)
    lo, hi = _box(method)

    def negll(theta, w=counts[None, :]):
        return -(w * obj.loglik(np.atleast_2d(theta))).sum(axis=1)

    best = None
    for t0 in _start(method, un, uc):
        r = minimize(lambda t: float(negll(t)[0]), t0, method="L-BFGS-B", bounds=list(zip(lo, hi)))
        if best is None or r.fun < best.fun:
            best = r
    theta, fx = _newton(negll, best.x[None, :], lo, hi, iters=20)
    alpha, beta, pi = (float(x[0]) for x in _unpack(method, theta))
    out = DistFit(method, alpha, beta, scale, pi, loglik=-float(fx[0]), n_free=3 if method != "beta_binomial" else 2,
                  problems=len(n), solved=int((c > 0).sum()), level=level)
    if n_boot:
        W = problem_weights(inverse, len(un), n_boot, seed)
        tb, _ = _newton(lambda t: -(W * obj.loglik(t)).sum(axis=1), np.repeat(theta, n_boot, axis=0), lo, hi)
        a, b, p = _unpack(method, tb)
        out.boot = np.stack([a, b, p], axis=1)
    return out


def fit_all(n, c, methods=METHODS, n_boot: int = N_BOOT, level: float = LEVEL, seed: int = 0) -> dict:
    """Every family that can be fitted: method → DistFit (families that fail are left out)."""
    out = {}
    for m in methods:
        try:
            out[m] = fit(m, n, c, n_boot=n_boot, level=level, seed=seed)
        except ValueError:
            continue
    return out


def best(fits: dict) -> DistFit | None:
    """The fit with the lowest AIC (None when there is none)."""
    return min(fits.values(), key=lambda f: f.aic) if fits else None


def _mixed(n, c, ks, dist: DistFit | None, boot: bool = False):
    """Mixed coverage for the point fit (boot=False, shape (1, K)) or every bootstrap replicate ((B, K)), and
    which k are exact."""
    from .coverage import pass_at_k

    n, c = _counts(n, c)
    ks = np.asarray(ks, dtype=np.int64).reshape(-1)
    with np.errstate(over="ignore", invalid="ignore"):
        pm = pass_at_k(n, c, ks)  # NaN where k > n_i
    need = np.isnan(pm)
    exact = ~need.any(axis=0)
    base = np.where(need, np.where(c[:, None] > 0, 1.0, 0.0), pm).sum(axis=0)  # exact part + solved problems
    unsolved = need & (c[:, None] == 0)
    if not unsolved.any():
        return (base / len(n))[None, :], exact
    if dist is None:
        out = base / len(n)
        out[unsolved.any(axis=0)] = np.nan
        return out[None, :], exact
    uniq = np.unique(n[c == 0])
    if boot and len(dist.boot):
        a, b, p = dist.boot[:, 0], dist.boot[:, 1], dist.boot[:, 2]
    else:
        a, b, p = dist.alpha, dist.beta, dist.pi
    S = dist._survival(a, b, p, np.r_[ks, uniq].astype(np.float64))
    Sk, Su = S[:, : len(ks)], S[:, len(ks):]
    # count of unsolved problems with n_i = u that need the forecast at each k
    counts = np.stack([(unsolved & (n[:, None] == u)).sum(axis=0) for u in uniq])  # (U, K)
    fore = np.clip(1.0 - Sk[:, None, :] / np.maximum(Su[:, :, None], 1e-300), 0.0, 1.0)  # (B, U, K)
    return (base[None, :] + (counts[None] * fore).sum(axis=1)) / len(n), exact


def coverage_mixed(n, c, ks, dist: DistFit | None) -> tuple[np.ndarray, np.ndarray]:
    """Coverage at each k when problems may have different n_i, and whether each value is exact.

    Exact pass@k (Chen et al. 2021) for every problem with k ≤ n_i. A problem with k > n_i counts as solved if
    c_i > 0; if c_i = 0 its chance is the forecast 1 − S(k)/S(n_i) (no success in its n_i samples). Returns
    (coverage, exact) where exact[j] is True when no problem needed the forecast at ks[j]. Without a fit,
    values that would need one are NaN.
    """
    cov, exact = _mixed(n, c, ks, dist)
    return cov[0], exact


def coverage_mixed_ci(n, c, ks, dist: DistFit) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """coverage_mixed with a percentile interval over the bootstrap replicates of the fit: (cov, lo, hi, exact)."""
    cov, exact = coverage_mixed(n, c, ks, dist)
    if not len(dist.boot):
        return cov, np.full_like(cov, np.nan), np.full_like(cov, np.nan), exact
    reps, _ = _mixed(n, c, ks, dist, boot=True)
    alpha = (1 - dist.level) / 2
    lo, hi = np.quantile(reps, [alpha, 1 - alpha], axis=0)
    return cov, lo, hi, exact
