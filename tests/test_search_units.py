"""Search stage, pure parts: step splitting, PRM aggregation, answer selection, beam widths, config lookups."""

import math

import numpy as np
import pytest
import yaml

from infscale import config as C
from infscale import layout as L
from infscale.search.prm import aggregate, split_steps
from infscale.search.strategies import select, select_hierarchical, width_for
from conftest import ROOT


def test_split_steps_drops_empty_steps():
    assert split_steps("a\n\nb\n\n\n\nc\n\n", "\n\n") == ["a", "b", "c"]
    assert split_steps("one step", "\n\n") == ["one step"]
    assert split_steps("", "\n\n") == [] and split_steps(None, "\n\n") == []
    assert split_steps("x ## y", "##") == ["x", "y"]


def test_aggregations():
    s = [0.9, 0.5, 0.8]
    assert aggregate(s, "last") == 0.8
    assert aggregate(s, "min") == 0.5
    assert aggregate(s, "prod") == pytest.approx(0.36)
    assert aggregate(s, "mean") == pytest.approx(2.2 / 3)
    assert math.isnan(aggregate([], "min"))
    with pytest.raises(ValueError, match="aggregation 'max'"):
        aggregate(s, "max")


def test_selections():
    classes = np.array([0, 1, 1, 2, -1])
    rewards = np.array([0.9, 0.5, 0.6, 0.2, 0.95])
    assert select("best_of_n", classes, rewards) == 4       # the single highest reward, even without an answer
    assert select("weighted", classes, rewards) == 2        # class 1 sums 1.1 > 0.9; its best member is index 2
    assert select("majority", classes, rewards) == 1        # class 1 has two votes; its first member
    assert select("majority", np.array([2, 0, 0, 2]), None) == 0   # tie between classes 2 and 0: earliest sample
    assert select("majority", np.array([-1, -1]), None) == 0
    assert select("best_of_n", None, [np.nan, 0.1]) == 1    # NaN rewards never win
    # raw rewards, no shift: A sums -0.20, B -0.15, so B (index 2) wins
    assert select("weighted", np.array([0, 0, 1]), np.array([-0.10, -0.10, -0.15])) == 2
    with pytest.raises(ValueError, match="vote method 'naive'"):
        select("naive", classes, rewards)


def test_hierarchical_selection_within_then_across_chains():
    # chain 0 votes for class 0 (0.4+0.4) over class 1 (0.7): winner is a class-0 attempt with reward 0.4
    # chain 1 has one class-1 attempt (0.6); chain 2 a class-1 attempt (0.3). Across chains class 1 sums 0.9 > 0.4.
    chains_classes = [np.array([0, 0, 1]), np.array([1]), np.array([1])]
    chains_rewards = [np.array([0.4, 0.4, 0.7]), np.array([0.6]), np.array([0.3])]
    assert select_hierarchical(chains_classes, chains_rewards) == (1, 0)
    # with chain 1's attempt weaker (0.1) and no chain 2, class 0 (0.4) wins across chains: chain 0's winner
    assert select_hierarchical(chains_classes[:2], [chains_rewards[0], np.array([0.1])]) == (0, 0)


def test_beam_width():
    assert [width_for("sqrt", n) for n in (1, 4, 16, 256)] == [1, 2, 4, 16]
    assert width_for(4, 2) == 2 and width_for(4, 64) == 4


def test_demo_and_paper_configs_have_a_valid_search_plan():
    demo = C.load(ROOT / "config" / "demo.yaml")
    paper = C.load(ROOT / "config" / "config.yaml")
    assert L.search_pairs(demo) == [("smollm2-135m", "gsm8k")]
    assert max(paper["search"]["budgets"]) == 256 and paper["search"]["prm"]["kind"] == "pooling"
    job = L.strategy_job(demo, "smollm2-135m", "gsm8k", "beam_sqrt")
    assert job["spec"] == {"kind": "beam", "width": "sqrt"} and job["budgets"] == [1, 2, 4]
    assert job["step_cfg"]["separator"] == "\n\n" and job["prm_cfg"]["aggregation"] == "last"


def test_bad_search_config_is_one_line():
    demo = yaml.safe_load((ROOT / "config" / "demo.yaml").read_text())
    demo["search"]["strategies"]["beam_sqrt"]["kind"] = "bream"
    with pytest.raises(C.ConfigError, match="search.strategies.beam_sqrt.kind"):
        C.validate(demo)
    demo["search"]["strategies"]["beam_sqrt"] = {"kind": "beam", "widht": 2}
    with pytest.raises(C.ConfigError, match="widht"):
        C.validate(demo)
    demo["search"]["strategies"] = {"prm": {"kind": "beam"}}
    with pytest.raises(C.ConfigError):
        C.validate(demo)


def test_search_votes_extract_answers_in_the_datasets_style():
    from infscale.search.strategies import Searcher
    texts = ["so #### 5", "so \\boxed{5}", "the answer is 5"]
    strict = Searcher(None, None, model="m", dataset="d", extraction={"style": "gsm8k", "lenient": False})
    assert strict._classes(texts).tolist() == [0, -1, -1]
    lenient = Searcher(None, None, model="m", dataset="d", extraction={"style": "gsm8k", "lenient": True})
    assert lenient._classes(texts).tolist() == [0, 0, 0]
