import copy
import json

import pandas as pd
import pytest
import yaml

from conftest import ROOT
from infscale.problems import DatasetError, build_problems, last_boxed, prepare_problems, reference_answer
from infscale import io

DEMO = yaml.safe_load((ROOT / "config" / "demo.yaml").read_text())


def test_gsm8k_demo_subset_is_stable_and_has_fewshot():
    a = build_problems("gsm8k", DEMO["datasets"]["gsm8k"], ROOT)
    b = build_problems("gsm8k", DEMO["datasets"]["gsm8k"], ROOT)
    pd.testing.assert_frame_equal(a, b)
    assert len(a) == 10 and a["problem_id"].is_unique
    assert set(a["domain"]) == {"math"}
    src = [json.loads(x) for x in (ROOT / "resources/data/gsm8k/test.jsonl").read_text().splitlines()]
    for pid, ref in zip(a["problem_id"], a["reference"]):  # the id is the source row, the reference its answer
        assert ref == src[int(pid)]["final_answer"]
    shots = [json.loads(s) for s in a["fewshot"]]
    assert all(len(s) == DEMO["datasets"]["gsm8k"]["prompt"]["fewshot"]["n"] for s in shots)
    assert len({s[0]["question"] for s in shots}) > 1  # drawn per problem, not one fixed set


def test_gsm8k_fewshot_count_is_configurable_and_without_repeats():
    spec = copy.deepcopy(DEMO["datasets"]["gsm8k"])
    spec["prompt"]["fewshot"]["n"] = 3
    shots = [json.loads(s) for s in build_problems("gsm8k", spec, ROOT)["fewshot"]]
    assert all(len(s) == 3 and len({x["question"] for x in s}) == 3 for s in shots)


def test_math500_fixed_fewshot_and_metadata():
    df = build_problems("math500", DEMO["datasets"]["math500"], ROOT)
    assert df["problem_id"].str.startswith("test/").all()
    assert {"level", "subject"} <= set(df.columns)
    shots = json.loads(df["fewshot"].iloc[0])
    assert [s["question"][:20] for s in shots] == [s["question"][:20] for s in json.loads(df["fewshot"].iloc[-1])]
    assert "\\boxed" in shots[0]["answer"]


def test_reference_formats():
    assert reference_answer("blah\n#### 1,234", "gsm8k") == "1234"
    assert reference_answer("so $\\boxed{\\frac{a}{b}}$.", "boxed") == "\\frac{a}{b}"
    assert last_boxed("\\boxed{1} and \\boxed{{2}+3}") == "{2}+3"
    with pytest.raises(DatasetError):
        reference_answer("no marker", "gsm8k")


def test_json_reference_from_several_columns(tmp_path):
    path = tmp_path / "he.jsonl"
    path.write_text(json.dumps({"task_id": "T/0", "prompt": "def f():", "test": "assert f()", "entry_point": "f"}) + "\n")
    spec = {"source": {"path": str(path)}, "domain": "code_function",
            "fields": {"problem_id": "task_id", "question": "prompt", "reference": ["prompt", "test", "entry_point"]}}
    df = build_problems("he", spec)
    assert json.loads(df["reference"][0]) == {"prompt": "def f():", "test": "assert f()", "entry_point": "f"}


def test_missing_field_is_one_clear_line_and_writes_nothing(tmp_path):
    spec = dict(DEMO["datasets"]["gsm8k"], fields={"question": "questoin", "reference": "answer"})
    out = tmp_path / "p.parquet"
    with pytest.raises(DatasetError) as e:
        prepare_problems("gsm8k", spec, str(out), ROOT)
    assert "field 'question' maps to column 'questoin', which the source lacks" in str(e.value)
    assert "\n" not in str(e.value)
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_duplicate_ids_rejected(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text("".join(json.dumps({"id": "a", "question": "q", "answer": "1"}) + "\n" for _ in range(2)))
    with pytest.raises(DatasetError, match="not unique"):
        build_problems("d", {"source": {"path": str(path)}, "domain": "math", "fields": {"problem_id": "id"}})


def test_prepare_writes_parquet_with_metadata(tmp_path):
    out = tmp_path / "p.parquet"
    prepare_problems("math500", DEMO["datasets"]["math500"], str(out), ROOT)
    assert io.read_metadata(out)["dataset"] == "math500"
    assert len(io.read_parquet(out)) == 10


# ---- bad dataset files: one `infscale: ...` line, nothing written (issue 11 item 6) ------------------------------

def _run_prepare(tmp_path, src, domain="math", fields=None):
    from infscale.cli import run_logged
    out = tmp_path / "out" / "p.parquet"
    spec = {"source": {"path": str(src)}, "domain": domain, "fields": fields or {"problem_id": "id"}}
    with pytest.raises(SystemExit) as e:
        run_logged(None, prepare_problems, "d", spec, str(out), tmp_path)
    msg = str(e.value)
    assert msg.startswith("infscale: ") and "\n" not in msg, msg
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []
    return msg


def test_malformed_jsonl_line_is_named(tmp_path):
    src = tmp_path / "d.jsonl"
    src.write_text(json.dumps({"id": "a", "question": "q", "answer": "1"}) + "\n\n{\"id\": \"b\", \"question\": \n")
    assert "line 3 is not valid JSON" in _run_prepare(tmp_path, src)


@pytest.mark.parametrize("content", [b"", b"\n\n  \n"])
def test_empty_dataset_file(tmp_path, content):
    src = tmp_path / "d.jsonl"
    src.write_bytes(content)
    assert "is empty" in _run_prepare(tmp_path, src)


@pytest.mark.parametrize("cut", [0, 100, -20])
def test_zero_byte_or_truncated_parquet(tmp_path, cut):
    good = tmp_path / "good.parquet"
    io.write_parquet(pd.DataFrame({"id": ["a", "b"], "question": ["q", "r"], "answer": ["1", "2"]}), good)
    src = tmp_path / "d.parquet"
    src.write_bytes(good.read_bytes()[:cut])
    msg = _run_prepare(tmp_path, src)
    assert "is empty" in msg or "not a readable parquet file" in msg


@pytest.mark.parametrize("bad", [3, None, 2.5, ["1"]])
def test_code_test_that_is_not_a_string_names_the_problem(tmp_path, bad):
    src = tmp_path / "d.jsonl"
    rows = [{"id": "ok", "question": "q", "tests": {"public": [{"input": "1\n", "output": "1\n"}]}},
            {"id": "p7", "question": "q", "tests": {"public": [{"input": "1\n", "output": "1"}],
                                                   "private": [{"input": "2\n", "output": bad}]}}]
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    msg = _run_prepare(tmp_path, src, "code_stdio", {"problem_id": "id", "reference": ["tests"]})
    assert "problem p7" in msg and "private test 0: output" in msg and "not a string" in msg
