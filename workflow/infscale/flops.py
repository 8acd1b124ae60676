"""Inference FLOPs (Brown et al. 2024, arXiv 2407.21787, §3 and App.; Kaplan et al. 2020 for FPT).

FLOPs per token at context length L: FPT(L) ≈ 2·(N_params + 2·n_layers·d_model·L).
Monkeys v3: total = Σ_{t≤P} FPT(t) + n·Σ_{t≤D} FPT(P+t) for P prompt tokens and n completions of D tokens.
Monkeys v1: total = (P + n·D)·FPT(P + D) at one fixed context.
"""

from __future__ import annotations

import json as _json
from dataclasses import dataclass
from pathlib import Path as _Path

import numpy as np
import pandas as _pd


def flops_per_token(n_params: float, n_layers: int, d_model: int, context: float) -> float | np.ndarray:
    return 2.0 * (n_params + 2.0 * n_layers * d_model * np.asarray(context, dtype=np.float64))


def _sum_fpt(n_params: float, n_layers: int, d_model: int, start, count) -> np.ndarray:
    """Σ_{t=start+1}^{start+count} FPT(t), closed form."""
    start = np.asarray(start, dtype=np.float64)
    count = np.asarray(count, dtype=np.float64)
    sum_t = count * start + count * (count + 1) / 2.0
    return 2.0 * (n_params * count + 2.0 * n_layers * d_model * sum_t)


def inference_flops_v3(n_params, n_layers, d_model, prompt_tokens, completion_tokens, n_completions=1):
    """Σ_{t≤P} FPT(t) + n·Σ_{t≤D} FPT(P+t); arrays broadcast (one row per problem or per sample)."""
    prompt = _sum_fpt(n_params, n_layers, d_model, 0, prompt_tokens)
    decode = _sum_fpt(n_params, n_layers, d_model, prompt_tokens, completion_tokens)
    return prompt + np.asarray(n_completions) * decode


def inference_flops_v1(n_params, n_layers, d_model, prompt_tokens, completion_tokens, n_completions=1):
    """(P + n·D)·FPT(P + D)."""
    p = np.asarray(prompt_tokens, dtype=np.float64)
    d = np.asarray(completion_tokens, dtype=np.float64)
    return (p + np.asarray(n_completions) * d) * flops_per_token(n_params, n_layers, d_model, p + d)


# ---- model shape from a Hugging Face config.json -------------------------------------------------------------


@dataclass(frozen=True)
class ModelShape:
    n_params: float
    n_layers: int
    d_model: int
    source: str = "config"


def _get(cfg: dict, *names, default=None):
    for n in names:
        if n in cfg and cfg[n] is not None:
            return cfg[n]
    return default


def count_params(cfg: dict) -> int:
    """Parameter count from an HF config for llama / mistral / qwen2 / gemma(2,3) / gpt-neox style decoders.

    Counts embeddings, attention (q, k, v, o with grouped KV heads and explicit head_dim), the MLP (gated:
    3·d·ff for llama/qwen/gemma; ungated: 2·d·ff for gpt-neox), biases where the architecture has them, the
    norms, and a separate LM head unless embeddings are tied. Checked against published counts in the tests.
    """
    cfg = cfg.get("text_config", cfg) if "num_hidden_layers" not in cfg and "n_layer" not in cfg else cfg
    mt = str(cfg.get("model_type", "llama"))
    d = int(_get(cfg, "hidden_size", "n_embd", "d_model"))
    L = int(_get(cfg, "num_hidden_layers", "n_layer", "num_layers"))
    vocab = int(_get(cfg, "vocab_size"))
    heads = int(_get(cfg, "num_attention_heads", "n_head"))
    kv = int(_get(cfg, "num_key_value_heads", default=heads))
    hd = int(_get(cfg, "head_dim", default=d // heads))
    ff = int(_get(cfg, "intermediate_size", "n_inner", default=4 * d))
    tied = bool(_get(cfg, "tie_word_embeddings", default=mt.startswith("gemma")))
    neox = mt in ("gpt_neox",)
    q, kvd = heads * hd, kv * hd
    attn = d * q + 2 * d * kvd + q * d
    if neox:  # fused qkv and dense with biases, ungated MLP with biases, two LayerNorms with bias
        attn += q + 2 * kvd + d
        mlp = 2 * d * ff + ff + d
        norms = 4 * d
        final_norm = 2 * d
    else:
        if mt.startswith("qwen2") or bool(cfg.get("attention_bias", False)):
            attn += q + 2 * kvd + (d if cfg.get("attention_bias", False) else 0)
        mlp = 3 * d * ff + (2 * ff + d if cfg.get("mlp_bias", False) else 0)
        norms = (4 if mt in ("gemma2", "gemma3", "gemma3_text") else 2) * d
        if mt in ("gemma3", "gemma3_text", "qwen3"):
            norms += 2 * hd  # q_norm and k_norm
        final_norm = d
    embed = vocab * d
    return int(embed * (1 if tied else 2) + L * (attn + mlp + norms) + final_norm)


def model_shape(config: dict | str | _Path, n_params: float | None = None) -> ModelShape:
    """n_params, n_layers, d_model from an HF config dict or config.json path (or its folder).

    `n_params` overrides the computed count (for architectures count_params does not know, or MoE models
    where the active parameters are what matters)."""
    if not isinstance(config, dict):
        p = _Path(config)
        p = p / "config.json" if p.is_dir() else p
        if not p.exists():
            raise FileNotFoundError(f"model config not found: {p}")
        config = _json.loads(p.read_text())
    cfg = config.get("text_config", config) if "num_hidden_layers" not in config and "n_layer" not in config else config
    try:
        L = int(_get(cfg, "num_hidden_layers", "n_layer", "num_layers"))
        d = int(_get(cfg, "hidden_size", "n_embd", "d_model"))
    except TypeError:
        raise ValueError("model config has no layer count / hidden size (num_hidden_layers, hidden_size)") from None
    if n_params is not None:
        return ModelShape(float(n_params), L, d, "override")
    return ModelShape(float(count_params(cfg)), L, d, "config")


def resolve_shape(entry: dict, model_config: str | _Path | None = None) -> ModelShape:
    """The model's shape from its one config key, `models.<m>.shape` (infscale.config.shape_entry).

    n_params, n_layers and d_model given outright are used as they are; otherwise they are read from the HF
    config.json `model_config` (shape.config_json, a converted GGUF checkpoint or a local HF dir; see
    infscale.config.model_config_json), with the entry's n_params, if any, overriding the count."""
    entry = dict(entry or {})
    if all(k in entry for k in ("n_params", "n_layers", "d_model")):
        return ModelShape(float(entry["n_params"]), int(entry["n_layers"]), int(entry["d_model"]), "shape")
    if model_config is None:
        raise ValueError("no model shape: set models.<model>.shape to {n_params, n_layers, d_model} or {config_json}")
    return model_shape(model_config, n_params=entry.get("n_params"))


# ---- FLOPs from real token counts ----------------------------------------------------------------------------

def problem_flops(merged: "_pd.DataFrame", shape: ModelShape) -> "_pd.DataFrame":
    """Per problem: prefill FLOPs (once, shared prompt) and mean decode FLOPs per sample, v3 and v1.

    v3 (Monkeys v3): prefill Σ_{t≤P} FPT(t), each sample Σ_{t≤D_i} FPT(P+t) with its own D_i.
    v1 (Monkeys v1): one fixed context P + D̄: per sample D_i·FPT(P + D̄), prefill P·FPT(P + D̄).
    """
    for col in ("prompt_tokens", "completion_tokens"):
        if col not in merged.columns or merged[col].isna().any():
            raise ValueError(f"FLOPs need real token counts: column {col!r} is missing or has nulls")
    P = merged["prompt_tokens"].to_numpy(np.float64)
    D = merged["completion_tokens"].to_numpy(np.float64)
    decode_v3 = _sum_fpt(shape.n_params, shape.n_layers, shape.d_model, P, D)
    df = _pd.DataFrame({"problem_id": merged["problem_id"].to_numpy(), "P": P, "D": D, "decode_v3": decode_v3})
    g = df.groupby("problem_id", sort=True)
    out = _pd.DataFrame({"n": g.size(), "prompt_tokens": g["P"].mean(), "completion_mean": g["D"].mean(),
                         "decode_v3": g["decode_v3"].mean()})
    out["prefill_v3"] = _sum_fpt(shape.n_params, shape.n_layers, shape.d_model, 0, out["prompt_tokens"])
    fpt1 = flops_per_token(shape.n_params, shape.n_layers, shape.d_model,
                           out["prompt_tokens"] + out["completion_mean"])
    out["prefill_v1"] = out["prompt_tokens"] * fpt1
    out["decode_v1"] = out["completion_mean"] * fpt1
    return out.reset_index()


def flops_line(pf: "_pd.DataFrame", version: str = "v3") -> tuple[float, float]:
    """(fixed, per sample) FLOPs over all problems: total for k samples per problem = fixed + k·per sample,
    with fixed = Σ_p prefill_p (the prompt once per problem) and per sample = Σ_p decode_p."""
    if version not in ("v3", "v1"):
        raise ValueError(f"FLOPs version must be v3 or v1, got {version!r}")
    return float(pf[f"prefill_{version}"].sum()), float(pf[f"decode_{version}"].sum())


def flops_at_k(pf: "_pd.DataFrame", ks, version: str = "v3") -> np.ndarray:
    """Total FLOPs over all problems for k samples per problem: Σ_p prefill_p + k·decode_p."""
    fixed, per_k = flops_line(pf, version)
    return fixed + np.asarray(ks, dtype=np.float64) * per_k


def coverage_vs_flops(curve: "_pd.DataFrame", pf: "_pd.DataFrame") -> "_pd.DataFrame":
    """Coverage curve (k, coverage) with total FLOPs per k, both versions."""
    out = curve[["k", "coverage"]].copy()
    out["flops_v3"] = flops_at_k(pf, out["k"], "v3")
    out["flops_v1"] = flops_at_k(pf, out["k"], "v1")
    return out


def run(merged_path, curve_csv, shape: dict, model_config, out_curve, out_problems) -> "_pd.DataFrame":
    """The flops rule: coverage vs FLOPs (v3 and v1) from the model's shape (models.<m>.shape, or the HF
    config.json it points to: resolve_shape) and the real token counts, and the per-problem FLOPs table."""
    from . import io

    shp = resolve_shape(shape, model_config)
    pf = problem_flops(io.read_merged(merged_path), shp)
    curve = coverage_vs_flops(_pd.read_csv(curve_csv), pf)
    curve["n_params"], curve["n_layers"], curve["d_model"] = shp.n_params, shp.n_layers, shp.d_model
    io.write_csv(curve, out_curve)
    io.write_csv(pf, out_problems)
    return curve
