"""Dollar cost: Monkeys Table 1 totals from its inputs, per-attempt pricing by hand."""
import pandas as pd
import pytest

from infscale import cost

TABLE1 = pd.DataFrame([  # Brown et al. 2024 (arXiv 2407.21787), Table 1 (SWE-bench Lite, 300 issues)
    ("DeepSeek-Coder-V2-Instruct", 5, 0.0072, 0.2962, 300),
    ("GPT-4o", 1, 0.13, 0.2400, 300),
    ("Claude 3.5 Sonnet", 1, 0.17, 0.2670, 300),
], columns=["model", "attempts", "dollars_per_attempt", "solved", "problems"])


def test_reproduces_table1_totals():
    t = cost.table1(TABLE1).set_index("model")
    assert t.loc["DeepSeek-Coder-V2-Instruct", "total_dollars"] == pytest.approx(10.8)
    assert t.loc["GPT-4o", "total_dollars"] == pytest.approx(39.0)
    assert t.loc["Claude 3.5 Sonnet", "total_dollars"] == pytest.approx(51.0)
    # the paper's point: the cheap model with 5 attempts solves more for less
    assert t["solved"].idxmax() == t["total_dollars"].idxmin() == "DeepSeek-Coder-V2-Instruct"
    with pytest.raises(ValueError, match="problems"):
        cost.table1(TABLE1.drop(columns="problems"))


def _merged():
    return pd.DataFrame({"problem_id": ["a", "a", "b", "b"], "sample_index": [0, 1, 0, 1],
                         "prompt_tokens": [1000, 1000, 2000, 2000], "completion_tokens": [100, 300, 0, 0],
                         "correct": [True, False, False, True]})


def test_attempt_cost_and_curve():
    price = {"input_per_mtok": 1.0, "output_per_mtok": 10.0}
    pa = cost.attempt_cost(_merged(), price).set_index("problem_id")
    assert pa.loc["a", "dollars_per_attempt"] == pytest.approx((1000 * 1 + 200 * 10) / 1e6)
    assert pa.loc["b", "dollars_per_attempt"] == pytest.approx(2000 / 1e6)
    curve = pd.DataFrame({"k": [1, 2], "coverage": [0.5, 1.0]})
    cv = cost.coverage_vs_cost(curve, pa.reset_index())
    assert cv["dollars"].tolist() == pytest.approx([0.005, 0.010])
    with pytest.raises(ValueError, match="input_per_mtok"):
        cost.attempt_cost(_merged(), {"output_per_mtok": 1})
