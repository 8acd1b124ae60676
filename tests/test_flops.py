"""FLOPs: parameter counts from HF configs (published counts), the v3/v1 totals by hand, the shape key."""
import json

import numpy as np
import pandas as pd
import pytest

from infscale import flops

LLAMA3_8B = {"model_type": "llama", "hidden_size": 4096, "intermediate_size": 14336, "num_hidden_layers": 32,
             "num_attention_heads": 32, "num_key_value_heads": 8, "vocab_size": 128256,
             "tie_word_embeddings": False}
PYTHIA_1_4B = {"model_type": "gpt_neox", "hidden_size": 2048, "intermediate_size": 8192, "num_hidden_layers": 24,
               "num_attention_heads": 16, "vocab_size": 50304, "tie_word_embeddings": False}
SMOLLM2_135M = {"model_type": "llama", "hidden_size": 576, "intermediate_size": 1536, "num_hidden_layers": 30,
                "num_attention_heads": 9, "num_key_value_heads": 3, "vocab_size": 49152,
                "tie_word_embeddings": True}
QWEN2_0_5B = {"model_type": "qwen2", "hidden_size": 896, "intermediate_size": 4864, "num_hidden_layers": 24,
              "num_attention_heads": 14, "num_key_value_heads": 2, "vocab_size": 151936,
              "tie_word_embeddings": True}


@pytest.mark.parametrize("cfg,expected", [
    (LLAMA3_8B, 8_030_261_248),      # Meta-Llama-3-8B
    (PYTHIA_1_4B, 1_414_647_808),    # EleutherAI/pythia-1.4b
    (SMOLLM2_135M, 134_515_008),     # HuggingFaceTB/SmolLM2-135M
    (QWEN2_0_5B, 494_032_768),       # Qwen/Qwen2-0.5B
])
def test_param_counts_match_published(cfg, expected):
    assert flops.count_params(cfg) == expected


def test_model_shape_from_file_and_override(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps(LLAMA3_8B))
    s = flops.model_shape(tmp_path)
    assert (s.n_layers, s.d_model, s.n_params) == (32, 4096, 8_030_261_248)
    o = flops.model_shape(tmp_path / "config.json", n_params=8e9)
    assert o.n_params == 8e9 and o.source == "override"
    with pytest.raises(FileNotFoundError):
        flops.model_shape(tmp_path / "nope")
    with pytest.raises(ValueError, match="num_hidden_layers"):
        flops.model_shape({"vocab_size": 3})


def test_v3_and_v1_by_hand():
    N, L, d = 100.0, 2, 3
    def fpt(t):
        return 2 * (N + 2 * L * d * t)

    P, D, n = 4, 3, 5
    v3 = sum(fpt(t) for t in range(1, P + 1)) + n * sum(fpt(P + t) for t in range(1, D + 1))
    assert flops.inference_flops_v3(N, L, d, P, D, n) == pytest.approx(v3)
    assert flops.inference_flops_v1(N, L, d, P, D, n) == pytest.approx((P + n * D) * fpt(P + D))


def _merged(model_tokens):
    rows = []
    for pid, P, ds, cs in model_tokens:
        for i, (D, c) in enumerate(zip(ds, cs)):
            rows.append({"problem_id": pid, "sample_index": i, "prompt_tokens": P, "completion_tokens": D,
                         "correct": c})
    return pd.DataFrame(rows)


def test_problem_flops_uses_real_counts():
    shape = flops.ModelShape(100.0, 2, 3)
    m = _merged([("a", 4, [3, 5], [True, False]), ("b", 2, [1, 1], [False, False])])
    pf = flops.problem_flops(m, shape).set_index("problem_id")
    dec_a = np.mean([flops.inference_flops_v3(100, 2, 3, 4, D, 1) - flops.inference_flops_v3(100, 2, 3, 4, 0, 1)
                     for D in (3, 5)])
    assert pf.loc["a", "decode_v3"] == pytest.approx(dec_a)
    total2 = flops.flops_at_k(pf.reset_index(), [2], "v3")[0]
    want = sum(flops.inference_flops_v3(100, 2, 3, P, 0, 0) for P in (4, 2)) + 2 * (
        pf["decode_v3"].sum())
    assert total2 == pytest.approx(want)
    # with one fixed D per problem, v1 total equals the closed formula
    m1 = _merged([("a", 4, [3, 3], [True, False])])
    pf1 = flops.problem_flops(m1, shape)
    assert flops.flops_at_k(pf1, [2], "v1")[0] == pytest.approx(flops.inference_flops_v1(100, 2, 3, 4, 3, 2))
    assert flops.flops_at_k(pf1, [2], "v3")[0] == pytest.approx(flops.inference_flops_v3(100, 2, 3, 4, 3, 2))
    bad = m1.astype({"prompt_tokens": "float"})
    bad.loc[0, "prompt_tokens"] = np.nan
    with pytest.raises(ValueError, match="prompt_tokens"):
        flops.problem_flops(bad, shape)


def test_resolve_shape_reads_the_one_key(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps(LLAMA3_8B))
    given = flops.resolve_shape({"n_params": 8.03e9, "n_layers": 32, "d_model": 4096})
    assert (given.n_params, given.n_layers, given.d_model, given.source) == (8.03e9, 32, 4096, "shape")
    read = flops.resolve_shape({"config_json": str(tmp_path / "config.json")}, tmp_path / "config.json")
    assert (read.n_params, read.source) == (8_030_261_248, "config")
    over = flops.resolve_shape({"n_params": 7e9}, tmp_path)
    assert (over.n_params, over.n_layers, over.source) == (7e9, 32, "override")
    with pytest.raises(ValueError, match="models.<model>.shape"):
        flops.resolve_shape({})


def test_flops_line_is_fixed_prefill_plus_k_decode():
    pf = pd.DataFrame({"prefill_v3": [10.0, 20.0], "decode_v3": [1.0, 2.0], "prefill_v1": [0.0, 0.0],
                       "decode_v1": [5.0, 5.0]})
    assert flops.flops_line(pf) == (30.0, 3.0)
    assert flops.flops_at_k(pf, [1, 4]).tolist() == [33.0, 42.0]
    assert flops.flops_at_k(pf, [2], "v1").tolist() == [20.0]
    with pytest.raises(ValueError, match="v3 or v1"):
        flops.flops_line(pf, "v2")
