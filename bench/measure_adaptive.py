"""Measurement (samples, not seconds): what the live adaptive policies (datasets.<d>.adaptive) spend to reach the
coverage uniform sampling reaches, on the stored samples in index order.

- `--synthetic`: two imported-release-shaped sets at paper shape (140 problems × 10⁴ samples, in the merged
  contract's layout as the release import writes it), drawn from the pass-rate shapes of the backtest: MATH-like
  p ~ Beta(0.3, 3) and CodeContests-like (60% never solvable, the rest Beta(0.2, 20)). Each policy's live
  decision (infscale.adaptive.plan_from_tally) is replayed in shards of 100.
- `--replay MERGED...`: the same replay on stored merged tables, e.g. imported releases.
- `--live UNIFORM ADAPTIVE...`: merged tables of real runs (the same model, dataset and K, one sampled uniformly,
  the others under an adaptive policy). Prints each adaptive run's progress shard by shard beside uniform
  sampling's spend for the same coverage, and checks that every sample both runs drew is the same sample
  (seed, completion tokens, verdict).
Writes results/bench/adaptive.json and prints one line per set and policy.
"""
import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from infscale import adaptive, io  # noqa: E402

P, N, S = 140, 10_000, 100
SETS = {"math_like": (0.3, 3.0, 0.0), "code_contests_like": (0.2, 20.0, 0.6)}
POLICIES = [("reset_discard", 1), ("reset_discard", 10), ("hardest", 1)]


def release_shaped(alpha, beta, never, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    p = rng.beta(alpha, beta, P)
    p[rng.random(P) < never] = 0.0
    correct = rng.random((P, N)) < p[:, None]
    return pd.DataFrame({"problem_id": np.repeat([f"q{i:03d}" for i in range(P)], N),
                         "sample_index": np.tile(np.arange(N), P), "shard": np.tile(np.arange(N) // S, P),
                         "correct": correct.reshape(-1)})


def _headline(vs: pd.DataFrame, target: float, uniform_total: int) -> dict:
    """Samples the policy spent when it first reached uniform sampling's final coverage."""
    hit = vs[vs["coverage"] >= target - 1e-12]
    spent = int(hit["samples_spent"].iloc[0]) if len(hit) else None
    return {"target_coverage": target, "uniform_samples": uniform_total, "samples_spent": spent,
            "saving": None if spent is None else 1 - spent / uniform_total,
            "final_coverage": float(vs["coverage"].iloc[-1]), "final_spent": int(vs["samples_spent"].iloc[-1])}


def replay_all(name: str, merged: pd.DataFrame, shard_size: int = S) -> dict:
    """Every policy's live decision replayed on one stored merged table (every problem the same n)."""
    ids, o = adaptive.outcomes_matrix(merged)
    target, total, n = float(o.any(axis=1).mean()), o.size, o.shape[1]
    out = {}
    for policy, s in POLICIES:
        steps = adaptive.replay(ids, o, policy=policy, solved=s, samples_per_shard=shard_size,
                                shards=-(-n // shard_size))
        res = _headline(adaptive.versus_uniform(steps, o), target, total)
        out[f"{name}/{policy}/s={s}"] = res
        print(f"{name} {policy} s={s}: uniform coverage at k={n} {target:.3f} with {total:,} samples; policy "
              f"reaches it with {res['samples_spent']:,} ({res['saving']:.0%} fewer)")
    return out


def synthetic() -> dict:
    out = {}
    for name, (a, b, never) in SETS.items():
        out |= replay_all(name, release_shaped(a, b, never))
    return out


def live(uniform_path, adaptive_paths) -> dict:
    u = io.read_parquet(uniform_path)
    ids, o = adaptive.outcomes_matrix(u)
    target, total = float(o.any(axis=1).mean()), o.size
    out = {}
    for path in adaptive_paths:
        m = io.read_parquet(path)
        both = m.merge(u, on=["problem_id", "sample_index"], suffixes=("", "_u"))
        same = all((both[c] == both[f"{c}_u"]).all() for c in ("seed", "completion_tokens", "correct"))
        vs = adaptive.versus_uniform(adaptive.progress(m), o)
        res = _headline(vs, target, total) | {"same_samples": bool(same), "shared_samples": len(both),
                                               "beyond_uniform": len(m) - len(both), "steps": vs.to_dict("records")}
        out[str(path)] = res
        print(vs.to_string(index=False))
        print(f"{path}: uniform coverage {target:.3f} with {total} samples; adaptive reaches it with "
              f"{res['samples_spent']} (final {res['final_coverage']:.3f} with {res['final_spent']}); "
              f"{res['shared_samples']} samples drawn by both runs, all identical: {res['same_samples']}; "
              f"{res['beyond_uniform']} beyond uniform's k")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--synthetic", action="store_true")
    ap.add_argument("--live", nargs="+", metavar="MERGED")
    ap.add_argument("--replay", nargs="+", metavar="MERGED", help="stored merged tables (e.g. imported releases)")
    ap.add_argument("--shard-size", type=int, default=S)
    a = ap.parse_args()
    res = {}
    if a.synthetic:
        res["synthetic"] = synthetic()
    for path in a.replay or []:
        res.setdefault("replay", {}).update(replay_all(path, io.read_parquet(path), a.shard_size))
    if a.live:
        res["live"] = live(a.live[0], a.live[1:])
    path = Path("results/bench/adaptive.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(res, indent=1, default=float))


if __name__ == "__main__":
    main()
