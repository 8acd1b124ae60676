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


# ---- the live policy: the plan of each next shard, generation from a plan, the checkpoint in the real DAG ----
def _verdicts(rows):
    """Verdict rows (problem_id, sample_index, correct) for problems with the given outcomes in index order."""
    return pd.DataFrame([{"problem_id": p, "sample_index": i, "correct": bool(o)}
                         for p, outs in rows.items() for i, o in enumerate(outs)],
                        columns=["problem_id", "sample_index", "correct"])


IDS = ["a", "b", "c", "d"]


def test_first_shard_samples_every_problem():
    plan = adaptive.next_shard(IDS, _verdicts({}), policy="hardest", solved=1, samples_per_shard=4)
    assert plan.values.tolist() == [[p, 0, 4] for p in IDS]


def test_reset_discard_stops_problems_solved_s_times():
    v = _verdicts({"a": [0, 1, 0, 0], "b": [0, 0, 0, 0], "c": [1, 1, 0, 0], "d": [0, 0, 0, 0, 1, 0, 0, 0]})
    # d has 8 samples already (hardest gave it more): its next range starts at 8
    plan = adaptive.next_shard(IDS, v, policy="reset_discard", solved=1, samples_per_shard=4)
    assert plan.values.tolist() == [["b", 4, 8]]
    plan2 = adaptive.next_shard(IDS, v, policy="reset_discard", solved=2, samples_per_shard=4)
    assert plan2.values.tolist() == [["a", 4, 8], ["b", 4, 8], ["d", 8, 12]]
    assert adaptive.next_shard(IDS, _verdicts({p: [1] * 4 for p in IDS}), policy="reset_discard", solved=1,
                               samples_per_shard=4).empty


def test_hardest_moves_the_uniform_budget_to_the_unsolved():
    v = _verdicts({"a": [0, 1, 0, 0], "b": [0, 0, 0, 0], "c": [1, 1, 0, 0], "d": [0, 0, 0, 0]})
    plan = adaptive.next_shard(IDS, v, policy="hardest", solved=1, samples_per_shard=4).set_index("problem_id")
    assert (plan["stop"] - plan["start"]).sum() == 4 * 4  # the uniform shard's budget P·S
    assert plan.loc["b"].tolist() == [4, 12] and plan.loc["d"].tolist() == [4, 12]
    # solved=2: a (1 success), b and d (0) continue; 16 = 6 + 5 + 5, the extra sample to the fewest successes
    plan2 = adaptive.next_shard(IDS, v, policy="hardest", solved=2, samples_per_shard=4).set_index("problem_id")
    assert (plan2["stop"] - plan2["start"]).to_dict() == {"a": 5, "b": 6, "d": 5}


def test_bad_verdicts_and_policy_are_one_clear_error():
    with pytest.raises(ContractError, match="not 0 … n−1"):
        adaptive.next_shard(IDS, _verdicts({"a": [0, 0]}).assign(sample_index=[0, 5]), policy="hardest", solved=1,
                            samples_per_shard=2)
    with pytest.raises(ContractError, match="not in the problems table"):
        adaptive.next_shard(IDS, _verdicts({"z": [0]}), policy="hardest", solved=1, samples_per_shard=2)
    with pytest.raises(ContractError, match="unknown policy"):
        adaptive.next_shard(IDS, _verdicts({}), policy="greedy", solved=1, samples_per_shard=2)


class _SeedEcho:
    """Stands in for the engine: the text is a function of the seed only, as with a seeded vLLM sampler (the real
    engine's seed behaviour is tested in tests/test_generate.py)."""
    tokenizer = None
    info = {"package": "echo"}

    def generate(self, prompts, sampling, seeds):
        from types import SimpleNamespace

        return [SimpleNamespace(text=f"{p[-1]['content'][:8]}|{s}", prompt_tokens=1, completion_tokens=1,
                                finish_reason="stop") for p, s in zip(prompts, seeds)]


def _problems_table(ids=IDS):
    return pd.DataFrame({"problem_id": ids, "question": [f"question {p}" for p in ids], "domain": "math",
                         "reference": "1"})


def _gen(plan=None, shard=0):
    from infscale.generate import generate_shard

    df, _ = generate_shard(_problems_table(), _SeedEcho(), model="m", dataset="d", shard=shard, samples_per_shard=4,
                           sampling={}, prompt_cfg={}, chat=True, model_source={}, plan=plan)
    return df


def test_a_problems_samples_are_the_same_whichever_policy_drew_them():
    from infscale.contracts import sample_seed

    uniform = pd.concat([_gen(shard=s) for s in range(4)]).set_index(["problem_id", "sample_index"])
    v = _verdicts({"a": [0, 1, 0, 0], "b": [0, 0, 0, 0], "c": [1, 1, 0, 0], "d": [0, 0, 0, 0]})
    drawn = []
    for policy in adaptive.POLICIES:
        plan = adaptive.next_shard(IDS, v, policy=policy, solved=1, samples_per_shard=4)
        got = _gen(plan, shard=1).set_index(["problem_id", "sample_index"])
        assert set(got.index.get_level_values(0)) == {"b", "d"}
        pd.testing.assert_frame_equal(got, uniform.loc[got.index])  # same text and seed as uniform sampling
        assert all(got["seed"] == [sample_seed("m", "d", p, i) for p, i in got.index])
        drawn.append(got)
    assert len(drawn[1]) == 2 * len(drawn[0])  # hardest spends the uniform budget on the two unsolved problems


def test_unknown_problem_in_a_plan_is_one_clear_error():
    with pytest.raises(ContractError, match="not in the problems table"):
        _gen(pd.DataFrame({"problem_id": ["zz"], "start": [0], "stop": [4]}))


def test_estimators_with_unequal_n():
    """Adaptive shards leave n differing per problem: coverage is exact only for k ≤ min n (NaN beyond), the mixed
    curve says which values are forecasts, and selection refuses k beyond the smallest n."""
    from infscale import coverage, forecast, selection

    n, c = np.array([4, 4, 12, 12]), np.array([0, 1, 0, 1])
    ks = np.array([1, 2, 4, 8, 12])
    cov = coverage.coverage_from_counts(n, c, ks)
    exact = coverage.pass_at_k(n, c, ks)
    assert np.allclose(cov[:3], exact[:, :3].mean(axis=0)) and np.isnan(cov[3:]).all()
    assert np.isnan(exact[:2, 3:]).all() and not np.isnan(exact[2:, 3:]).any()  # pass@k only where k ≤ n_i
    fit = forecast.fit("beta_binomial", n, c, n_boot=0)
    mixed, is_exact = forecast.coverage_mixed(n, c, ks, fit)
    assert is_exact.tolist() == [True, True, True, False, False]
    assert np.allclose(mixed[:3], cov[:3])
    # beyond min n: exact pass@k where k ≤ n_i (c, d); b (solved in its 4) counts 1; a (unsolved in 4) gets the
    # forecast chance of a success in 12 given none in 4, 1 − S(12)/S(4)
    S = fit.survival(np.array([4, 12]))
    assert mixed[4] == pytest.approx(((1 - S[1] / S[0]) + 1 + 0 + 1) / 4)
    assert 0 < 1 - S[1] / S[0] < 1
    m = _verdicts({"a": [1, 0, 1, 0], "b": [0, 0, 1, 0], "c": [0] * 12, "d": [0] * 11 + [1]}).assign(
        extracted=lambda d: np.where(d["correct"], "1", "2"))
    assert selection.selection_curve(m, [4], trials=5)["k"].eq(4).all()
    with pytest.raises(ValueError, match="smallest per-problem sample count"):
        selection.selection_curve(m, [8], trials=5)


def test_checkpoint_in_the_real_dag_is_resumable_and_stops_when_done(tmp_path):
    """The real Snakefile with datasets.gsm8k.adaptive on: 4 problems, 3 shards of 4. Shards are written by hand
    (generation has its own tests), so this checks the DAG: each plan follows the verdicts before it, a finished
    shard is never redone, and no shard is scheduled after the first empty plan."""
    import yaml

    from infscale.contracts import sample_seed
    from workflow_helpers import ROOT, copy_workflow, job_counts, snakemake, write_config

    cfg = yaml.safe_load((ROOT / "config" / "demo.yaml").read_text())
    cfg.pop("search", None)
    ds = cfg["datasets"]["gsm8k"]
    ds.update(subset={"n": 4, "seed": 0}, samples=12, samples_per_shard=4,
              adaptive={"policy": "reset_discard", "solved": 1})
    cfg["datasets"] = {"gsm8k": ds}
    cfg["models"] = {"m": {"source": {"hf": "HuggingFaceTB/SmolLM2-135M-Instruct"}, "chat": True}}
    wd = copy_workflow(tmp_path / "wf")
    conf = str(write_config(wd, cfg))
    merged = "results/merged/m/gsm8k.parquet"

    def plan(s):
        snakemake(wd, f"results/adaptive/m/gsm8k/{s}.csv", "--configfile", conf)
        return adaptive.read_plan(wd / f"results/adaptive/m/gsm8k/{s}.csv")

    def shard(s, plan_, solved):
        rows = [(p, i) for p, a, b in plan_.itertuples(index=False) for i in range(a, b)]
        pid, idx = [r[0] for r in rows], [r[1] for r in rows]
        ok = [p in solved for p in pid]
        io.write_parquet(pd.DataFrame({
            "problem_id": pid, "sample_index": idx, "text": "x", "prompt_tokens": 1, "completion_tokens": 1,
            "finish_reason": "stop", "seed": [sample_seed("m", "gsm8k", p, i) for p, i in rows]}),
            wd / f"results/samples/m/gsm8k/{s}.parquet")
        io.write_parquet(pd.DataFrame({
            "problem_id": pid, "sample_index": idx, "correct": ok, "status": ["correct" if o else "wrong" for o in ok],
            "extracted": "1", "extraction": "format", "verifier": "math", "elapsed_ms": 1.0, "isolation": "none"}),
            wd / f"results/verdicts/m/gsm8k/{s}.parquet")

    p0 = plan(0)
    ids = p0["problem_id"].tolist()
    assert len(ids) == 4 and p0[["start", "stop"]].values.tolist() == [[0, 4]] * 4
    shard(0, p0, solved=set(ids[:2]))
    # shard 0 is done: the next run plans shard 1 and does not redo shard 0
    dry = job_counts(snakemake(wd, "-n", merged, "--configfile", conf).stdout)
    assert dry.get("adaptive_shard") == 1 and "generate_shard" not in dry and "verify_shard" not in dry
    p1 = plan(1)
    assert p1.values.tolist() == [[p, 4, 8] for p in ids[2:]]
    shard(1, p1, solved=set(ids))  # every problem solved: shard 2's plan is empty, so shard 2 never runs
    snakemake(wd, merged, "--configfile", conf)
    m = io.read_parquet(wd / merged)
    assert sorted(m["shard"].unique()) == [0, 1] and len(m) == 4 * 4 + 2 * 4
    assert adaptive.read_plan(wd / "results/adaptive/m/gsm8k/2.csv").empty
    assert not (wd / "results/samples/m/gsm8k/2.parquet").exists()
    assert job_counts(snakemake(wd, "-n", merged, "--configfile", conf).stdout) == {}


def test_replay_runs_the_live_policy_on_stored_samples():
    # a: first success at index 1, b: never, c: at index 0 — 8 stored samples each, shards of 2
    out = np.zeros((3, 8), bool)
    out[0, 1] = out[0, 5] = out[2, 0] = True
    rd = adaptive.replay(["a", "b", "c"], out, policy="reset_discard", solved=1, samples_per_shard=2, shards=4)
    assert rd["samples_spent"].tolist() == [6, 8, 10, 12] and rd["problems_sampled"].tolist() == [3, 1, 1, 1]
    assert rd["coverage"].tolist() == pytest.approx([2 / 3] * 4)
    hard = adaptive.replay(["a", "b", "c"], out, policy="hardest", solved=1, samples_per_shard=2, shards=4)
    # b, the one unsolved problem, gets the whole budget 3 × 2 (indices 2..7); then the stored 8 have run out
    assert hard["samples_spent"].tolist() == [6, 12] and hard["truncated"].tolist() == [False, True]
    # uniform needs k = 2 (3 × 2 samples) for 2/3: the first shard already matches it, so no saving there
    vs = adaptive.versus_uniform(rd, out)
    assert vs["uniform_samples"].tolist() == [6] * 4 and vs["saving"].iloc[0] == 0
    assert np.isnan(adaptive.versus_uniform(pd.DataFrame({"samples_spent": [1], "coverage": [1.0]}), out)
                    ["uniform_samples"].iloc[0])


def test_progress_of_a_live_run_by_shard():
    m = _verdicts({"a": [0, 1, 0, 0], "b": [0, 0, 0, 0], "c": [1, 1]}).assign(shard=lambda d: d["sample_index"] // 2)
    p = adaptive.progress(m)
    assert p.values.tolist() == [[0, 3, 6, 2 / 3], [1, 2, 10, 2 / 3]]


def test_realized_coverage_of_an_adaptive_run_is_unbiased_where_pass_at_k_is_not():
    """Reset-and-Discard with shards of 1 on problems of pass rate 1/2: the run's own index-order coverage at k = 1
    averages 1/2, while Chen et al.'s pass@1 = c/n on the stopped (n_i, c_i) averages E[1/T] = ln 2 ≈ 0.69."""
    from infscale import coverage

    rng = np.random.default_rng(0)
    P, K = 4000, 30
    ids, outs = [f"q{i}" for i in range(P)], rng.random((P, K)) < 0.5
    plan = adaptive.replay(ids, outs, policy="reset_discard", solved=1, samples_per_shard=1, shards=K)
    n = np.where(outs.any(axis=1), outs.argmax(axis=1) + 1, K)  # what each problem was given
    m = pd.DataFrame([{"problem_id": p, "sample_index": j, "correct": bool(outs[i, j])}
                      for i, p in enumerate(ids) for j in range(n[i])])
    assert plan["samples_spent"].iloc[-1] == len(m)
    assert adaptive.realized_coverage(m, [1])[0] == pytest.approx(0.5, abs=0.03)
    pp = coverage.per_problem(m)
    assert coverage.pass_at_k(pp["n"], pp["c"], [1]).mean() == pytest.approx(np.log(2), abs=0.03)
    # b never solved in its 5 samples: coverage at k = 6 is unknown
    assert adaptive.realized_coverage(_hand(), [1, 2, 5, 6])[:3].tolist() == pytest.approx([1 / 3, 2 / 3, 2 / 3])
    assert np.isnan(adaptive.realized_coverage(_hand(), [6])[0])
