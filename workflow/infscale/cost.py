"""Dollar cost of repeated sampling (Brown et al. 2024, arXiv 2407.21787, §3, Table 1).

Per-token prices come from config (models.<m>.price.input_per_mtok / output_per_mtok, $ per million tokens).
An API call bills its prompt every time, so one attempt costs P·in + D·out. Total cost = price per attempt ×
attempts × problems (Table 1: 5 attempts of DeepSeek-Coder-V2-Instruct at $0.0072 on 300 issues = $10.8).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def _prices(price: dict) -> tuple[float, float]:
    if not price or "input_per_mtok" not in price or "output_per_mtok" not in price:
        raise ValueError("cost needs models.<model>.price.input_per_mtok and output_per_mtok in config")
    return float(price["input_per_mtok"]) / 1e6, float(price["output_per_mtok"]) / 1e6


def attempt_cost(merged: pd.DataFrame, price: dict) -> pd.DataFrame:
    """Per problem: mean dollars per attempt (prompt billed on every attempt)."""
    pin, pout = _prices(price)
    for col in ("prompt_tokens", "completion_tokens"):
        if col not in merged.columns or merged[col].isna().any():
            raise ValueError(f"cost needs real token counts: column {col!r} is missing or has nulls")
    dollars = merged["prompt_tokens"].to_numpy(np.float64) * pin + merged["completion_tokens"].to_numpy(np.float64) * pout
    df = pd.DataFrame({"problem_id": merged["problem_id"].to_numpy(), "dollars": dollars})
    return df.groupby("problem_id", sort=True)["dollars"].mean().rename("dollars_per_attempt").reset_index()


def dollar_line(per_attempt: pd.DataFrame) -> tuple[float, float]:
    """(fixed, per attempt) dollars over all problems: k attempts on every problem cost 0 + k·Σ_p price_p."""
    return 0.0, float(per_attempt["dollars_per_attempt"].sum())


def coverage_vs_cost(curve: pd.DataFrame, per_attempt: pd.DataFrame) -> pd.DataFrame:
    """Coverage curve with total dollars for k attempts on every problem: k · Σ_p price per attempt_p."""
    out = curve[["k", "coverage"]].copy()
    fixed, per_k = dollar_line(per_attempt)
    out["dollars"] = fixed + out["k"].astype(np.float64) * per_k
    return out


def table1(rows: pd.DataFrame) -> pd.DataFrame:
    """The Monkeys Table 1 layout: model, attempts, dollars_per_attempt, solved, problems → total dollars.

    total = dollars_per_attempt × attempts × problems; also dollars per solved problem.
    """
    need = ["model", "attempts", "dollars_per_attempt", "solved", "problems"]
    missing = [c for c in need if c not in rows.columns]
    if missing:
        raise ValueError(f"table1: missing column(s) {', '.join(missing)}")
    out = rows[need].copy()
    out["total_dollars"] = out["dollars_per_attempt"] * out["attempts"] * out["problems"]
    out["dollars_per_solved"] = out["total_dollars"] / (out["solved"] * out["problems"])
    return out



def run(merged_path, curve_csv, price: dict, out_curve, out_problems) -> pd.DataFrame:
    """The cost rule: coverage vs dollars from the model's price and the real token counts, and the per-problem
    dollars-per-attempt table."""
    from . import io

    pa = attempt_cost(io.read_merged(merged_path), price)
    curve = pd.read_csv(curve_csv)
    out = coverage_vs_cost(curve, pa)
    out["problems"] = curve["problems"] if "problems" in curve else len(pa)
    io.write_csv(out, out_curve)
    io.write_csv(pa, out_problems)
    return out
