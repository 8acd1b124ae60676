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


def test_fixed_fewshot_ids_resolve_by_the_stated_column(tmp_path):
    spec = copy.deepcopy(DEMO["datasets"]["math500"])
    base = build_problems("math500", spec, ROOT)["fewshot"].iloc[0]
    # the same two examples named by another column of the few-shot source (`idx`), or by row index (null)
    rows = [json.loads(x) for x in (ROOT / "resources/data/math/train_fewshot.jsonl").read_text().splitlines()]
    pool = tmp_path / "shots.jsonl"
    pool.write_text("".join(json.dumps({**r, "idx": 100 + i}) + "\n" for i, r in enumerate(rows)))
    where = [next(i for i, r in enumerate(rows) if r["unique_id"] == u) for u in spec["prompt"]["fewshot"]["ids"]]
    spec["prompt"]["fewshot"].update(source={"path": str(pool)}, id_field="idx", ids=[100 + i for i in where])
    assert build_problems("math500", spec, ROOT)["fewshot"].iloc[0] == base
    spec["prompt"]["fewshot"].update(id_field=None, ids=where)
    assert build_problems("math500", spec, ROOT)["fewshot"].iloc[0] == base
    spec["prompt"]["fewshot"]["id_field"] = "id"  # a column the source lacks: one line, no KeyError
    with pytest.raises(DatasetError, match="field 'prompt.fewshot id_field' maps to column 'id', which the source lacks"):
        build_problems("math500", spec, ROOT)


def test_a_filter_that_selects_nothing_stops(tmp_path):
    spec = copy.deepcopy(DEMO["datasets"]["math500"])
    spec["filter"] = {"subject": "Algebraa"}  # a typo
    with pytest.raises(DatasetError, match="filter .* selects no problems") as e:
        prepare_problems("math500", spec, str(tmp_path / "p.parquet"), ROOT)
    assert "\n" not in str(e.value) and not (tmp_path / "p.parquet").exists()


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


def _code_contests_fixture(path):
    """Three test-split rows in the Hub layout of deepmind/code_contests, written as parquet by `datasets` from the
    nested structure (field names and types from the dataset card, https://huggingface.co/datasets/deepmind/code_contests:
    public_tests / private_tests / generated_tests = struct {input: list[string], output: list[string]},
    time_limit = struct {seconds: int64, nanos: int64}, solutions = struct {language: list[int], solution: list[string]})."""
    import datasets

    tests = {"input": datasets.Sequence(datasets.Value("string")), "output": datasets.Sequence(datasets.Value("string"))}
    features = datasets.Features({
        "name": datasets.Value("string"), "description": datasets.Value("string"),
        "public_tests": tests, "private_tests": tests, "generated_tests": tests,
        "source": datasets.Value("int64"), "difficulty": datasets.Value("int64"),
        "solutions": {"language": datasets.Sequence(datasets.Value("int64")),
                      "solution": datasets.Sequence(datasets.Value("string"))},
        "cf_tags": datasets.Sequence(datasets.Value("string")),
        "time_limit": {"seconds": datasets.Value("int64"), "nanos": datasets.Value("int64")},
        "memory_limit_bytes": datasets.Value("int64"),
    })
    rows = {
        "name": ["1548_A. Add", "1548_B. Double", "1548_C. Empty private"],
        "description": ["Print a+b.", "Print 2n.", "Print n."],
        "public_tests": [{"input": ["1 2\n"], "output": ["3\n"]}, {"input": ["4\n", "5\n"], "output": ["8\n", "10\n"]},
                         {"input": ["7\n"], "output": ["7\n"]}],
        "private_tests": [{"input": ["5 5\n"], "output": ["10\n"]}, {"input": ["0\n"], "output": ["0\n"]},
                          {"input": [], "output": []}],
        "generated_tests": [{"input": ["-1 1\n"], "output": ["0\n"]}, {"input": [], "output": []},
                            {"input": [], "output": []}],
        "source": [2, 2, 2], "difficulty": [7, 8, 7],
        "solutions": [{"language": [3], "solution": ["print(sum(map(int, input().split())))"]}] * 3,
        "cf_tags": [["math"], [], ["implementation"]],
        "time_limit": [{"seconds": 2, "nanos": 0}, {"seconds": 1, "nanos": 500000000}, {"seconds": 0, "nanos": 0}],
        "memory_limit_bytes": [256000000] * 3,
    }
    datasets.Dataset.from_dict(rows, features=features).to_parquet(str(path))


def test_code_contests_builds_from_its_nested_hub_layout(tmp_path):
    import pyarrow.parquet as pq
    from infscale.verify.code import stdio_tests
    from infscale.verify.common import parse_reference

    src = tmp_path / "code_contests_test.parquet"
    _code_contests_fixture(src)
    assert str(pq.read_schema(src).field("public_tests").type) == "struct<input: list<element: string>, output: list<element: string>>"
    paper = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    spec = dict(paper["datasets"]["code_contests"], source={"path": str(src)})
    spec["fields"] = dict(spec["fields"], metadata=["cf_tags", "difficulty"])
    out = tmp_path / "code_contests.parquet"
    df = prepare_problems("code_contests", spec, str(out))
    back = io.read_parquet(out)
    assert back["problem_id"].tolist() == ["1548_A. Add", "1548_B. Double", "1548_C. Empty private"]
    assert set(back["domain"]) == {"code_stdio"}
    ref = json.loads(back["reference"][1])
    assert ref == {"public_tests": {"input": ["4\n", "5\n"], "output": ["8\n", "10\n"]},
                   "private_tests": {"input": ["0\n"], "output": ["0\n"]},
                   "generated_tests": {"input": [], "output": []},
                   "time_limit": {"seconds": 1, "nanos": 500000000}}
    # the verifier reads the same reference: every test in order public, private, generated, and the time limit
    assert stdio_tests(parse_reference(back["reference"][0], "1548_A. Add")) == (
        [("1 2\n", "3\n"), ("5 5\n", "10\n"), ("-1 1\n", "0\n")], 2.0)
    assert stdio_tests(ref)[1] == 1.5
    assert df["cf_tags"].tolist() == [["math"], [], ["implementation"]]


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
