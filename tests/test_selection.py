"""Selection: math-equivalence majority vote, reward best-of-N / weighted vote, oracle = coverage; answer classes
equal to pairwise math-verify's; the one vote module."""
import numpy as np
import pandas as pd
import pytest

from infscale import answers, selection, vote
from conftest import ROOT

EQUIV = ROOT / "tests" / "data" / "answer_equivalence.csv"


def _frame(pid, answers, correct, reward=None):
    d = {"problem_id": pid, "sample_index": range(len(answers)), "extracted": answers, "correct": correct}
    if reward is not None:
        d["reward"] = reward
    return pd.DataFrame(d)


def test_classes_group_equivalent_answers():
    cache = selection.EquivalenceCache()
    cls = selection.answer_classes(["0.5", "\\frac{1}{2}", "1/2", "3", None, "3.0", ""], cache)
    assert cls[0] == cls[1] == cls[2]
    assert cls[3] == cls[5] != cls[0]
    assert cls[4] == -1 and cls[6] == -1
    n = cache.checks
    selection.answer_classes(["0.5", "\\frac{1}{2}", "3"], cache)
    assert cache.checks == n  # pairwise checks are cached


def test_majority_uses_equivalence_not_strings():
    # strings: "3" appears twice, but 0.5 / \frac{1}{2} / 1/2 are one answer with three votes
    m = _frame("p", ["0.5", "\\frac{1}{2}", "1/2", "3", "3"], [True, True, True, False, False])
    out = selection.selection_curve(m, [5], trials=10).set_index("method")
    assert out.loc["majority", "mean"] == 1.0
    assert out.loc["oracle", "mean"] == 1.0
    assert "best_of_n" not in out.index


def test_reward_methods():
    m = _frame("p", ["1", "1", "2", "3"], [False, False, True, False], reward=[0.1, 0.2, 0.9, 0.3])
    out = selection.selection_curve(m, [4], trials=5).set_index("method")
    assert out.loc["best_of_n", "mean"] == 1.0 and out.loc["best_of_n", "verifier"] == "reward"
    assert out.loc["majority", "mean"] == 0.0
    # weighted vote: class "1" has reward 0.3 < 0.9 of class "2"
    assert out.loc["weighted", "mean"] == 1.0
    m2 = _frame("p", ["1", "1", "2", "3"], [False, False, True, False], reward=[0.5, 0.5, 0.9, 0.3])
    out2 = selection.selection_curve(m2, [4], trials=5).set_index("method")
    assert out2.loc["weighted", "mean"] == 0.0 and out2.loc["best_of_n", "mean"] == 1.0


def test_weighted_vote_sums_raw_negative_rewards():
    # A: -0.10 + -0.10 = -0.20 < B: -0.15, so B wins. Shifting by the minimum (the old bug) gave A 0.10 vs B 0.
    m = _frame("p", ["7", "7", "8"], [False, False, True], reward=[-0.10, -0.10, -0.15])
    out = selection.selection_curve(m, [3], trials=5).set_index("method")
    assert out.loc["weighted", "mean"] == 1.0 and out.loc["majority", "mean"] == 0.0
    assert vote.pick("weighted", [0, 0, 1], [-0.10, -0.10, -0.15]) == 2


def test_one_reward_column_per_verifier():
    m = _frame("p", ["1", "1", "2", "3"], [False, False, True, False])
    m["reward_prm"] = [0.1, 0.2, 0.9, 0.3]      # picks the right answer
    m["reward_judge"] = [0.9, 0.8, 0.1, 0.3]    # picks the wrong one
    out = selection.selection_curve(m, [4], trials=5).set_index(["method", "verifier"])["mean"]
    assert out[("best_of_n", "prm")] == 1.0 and out[("best_of_n", "judge")] == 0.0
    assert out[("weighted", "prm")] == 1.0 and out[("weighted", "judge")] == 0.0
    assert ("majority", "") in out.index


def test_vote_ties():
    # two classes with two votes each; "first" takes the one seen first, "random" each about half the time
    classes = np.array([[1, 0, 0, 1]])
    assert vote.vote_classes("majority", classes, 2, ties="first")[0] == 1
    rng = np.random.default_rng(0)
    wins = [vote.vote_classes("majority", classes, 2, ties="random", rng=rng)[0] for _ in range(400)]
    assert 150 < sum(wins) < 250
    assert vote.vote_classes("majority", np.array([[-1, -1]]), 2)[0] == -1   # nobody answered: no pick
    with pytest.raises(ValueError, match="vote ties 'coin'"):
        vote.best_sample([1.0], ties="coin")


def _equivalence_set():
    d = pd.read_csv(EQUIV, comment="#", keep_default_na=False)
    assert len(d) > 60
    return d


def test_classes_equal_pairwise_math_verify_on_the_equivalence_set():
    d = _equivalence_set()
    cache = answers.EquivalenceCache()
    ans = d["answer"].tolist()
    pairwise = answers.pairwise_classes(ans, cache)
    stats = {}
    fast = answers.answer_classes(ans, answers.EquivalenceCache(), stats)
    assert (fast == pairwise).all()
    # the file's groups are math-verify's classes in file order (e.g. 0.5, 1/2, \dfrac12, 50\% together)
    assert pd.Series(pairwise).groupby(d["group"]).nunique().eq(1).all()
    assert d.groupby("group").ngroups == len(set(pairwise))
    assert stats["candidates"] < len(ans) * 3      # bucketed: far fewer checks than the pairwise 71·27
    rng = np.random.default_rng(0)
    for _ in range(5):                             # any order: the same classes as pairwise in that order
        perm = rng.permutation(len(ans))
        shuffled = [ans[i] for i in perm]
        assert (answers.answer_classes(shuffled, answers.EquivalenceCache())
                == answers.pairwise_classes(shuffled, cache)).all()


def test_fast_numbers_read_without_a_parser():
    from fractions import Fraction as F
    assert answers.fast_number(r"\dfrac12") == (F(1, 2), "rational")
    assert answers.fast_number(r"-\frac{3}{4}") == (F(-3, 4), "rational")
    assert answers.fast_number("0.25") == (F(1, 4), "decimal")
    assert answers.fast_number(r"12.5\%") == (F(25, 2), "percent")
    assert answers.fast_number("1/0") is None and answers.fast_number("x") is None


def test_ensembles_and_verifier_metrics():
    from infscale import ensemble
    rng = np.random.default_rng(0)
    n, pids = 4000, np.repeat([f"p{i}" for i in range(40)], 100)
    y = rng.random(n) < 0.4
    m = pd.DataFrame({"problem_id": pids, "sample_index": np.tile(np.arange(100), 40), "correct": y,
                      "extracted": np.where(y, "1", "2")})
    # three verifiers that agree with the truth 90%, 75% and 60% of the time (independent errors), one useless
    for name, acc in (("good", 0.9), ("fair", 0.75), ("weak", 0.6), ("noise", 0.5)):
        right = rng.random(n) < acc
        m[f"reward_{name}"] = np.where(right, y, ~y).astype(float) + rng.normal(0, 0.01, n)
    cols = ["reward_good", "reward_fair", "reward_weak", "reward_noise"]
    est = ensemble.weak_supervision_accuracies(m, cols)          # no labels used
    assert est["reward_good"] > est["reward_fair"] > est["reward_weak"] > est["reward_noise"] - 0.05
    assert abs(est["reward_good"] - 0.9) < 0.05
    met = ensemble.verifier_metrics(m, {c[7:]: c for c in cols}).set_index("verifier")
    assert met.loc["good", "auroc"] > 0.85 and abs(met.loc["noise", "auroc"] - 0.5) < 0.05
    assert met.loc["good", "tpr"] > 0.8 and met.loc["good", "fpr"] < 0.2
    assert ensemble.auroc(np.array([0.1, 0.9, 0.5]), np.array([False, True, False])) == 1.0
    r = ensemble.normalise(pd.Series([3.0, 1.0, 2.0, 5.0, 5.0]), pd.Series(["a", "a", "a", "b", "b"]), "rank")
    assert r.tolist() == [1.0, 0.0, 0.5, 0.5, 0.5]
    sel = selection.selection_curve(m, [8], trials=20)
    best = sel[sel.method == "best_of_n"].set_index("verifier")["mean"]
    assert {"ensemble_rank", "ensemble_z", "ensemble_weak"} <= set(best.index)
    assert best["ensemble_weak"] >= best["weak"] and best["good"] > best["noise"]


def test_gap_table():
    m = _frame("p", ["1", "1", "2", "3"], [False, False, True, False], reward=[0.1, 0.2, 0.9, 0.3])
    gap = selection.gap_table(selection.selection_curve(m, [1, 4], trials=50)).set_index("k")
    assert gap.loc[4, "coverage"] == 1.0 and gap.loc[4, "majority"] == 0.0
    assert gap.loc[4, "best_of_n:reward"] == 1.0 and gap.loc[4, "gap"] == 0.0
    assert gap.loc[1, "gap"] >= 0 and {"weighted:reward", "best_selector"} <= set(gap.columns)


def test_grouping_reads_numbers_as_the_verifier_does():
    # math-verify alone reads 4.5e33 as 4.5·e·33; the verifier's normalisation reads it as 4.5·10³³
    cls = answers.answer_classes(["4.5e33", "4.5\\times 10^{33}", "4.5 \\cdot e \\cdot 33"])
    assert cls[0] == cls[1] and cls[2] != cls[0]
