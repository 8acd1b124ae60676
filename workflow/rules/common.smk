# Config validation, wildcard constraints, and one-line adapters from Snakemake (`config`, a job's wildcards,
# checkpoints) to infscale.layout, which holds every path template, input lookup and target list (tested without
# Snakemake in tests/test_layout.py). Rules spell paths as layout.<KIND> (e.g. layout.MERGED).
from infscale import config as infscale_config  # installed by `make deps` (pyproject.toml)
from infscale import layout
from infscale import release as infscale_release

try:
    infscale_config.validate(config)
    infscale_release.check_releases(config)
except infscale_config.ConfigError as e:
    raise SystemExit(f"infscale: {e}")


wildcard_constraints:
    model=r"[A-Za-z0-9][A-Za-z0-9_.-]*",
    dataset=r"[A-Za-z0-9][A-Za-z0-9_.-]*",
    checkpoint=r"[A-Za-z0-9][A-Za-z0-9_.-]*",
    family=r"[A-Za-z0-9][A-Za-z0-9_.-]*",
    shard=r"\d+",


# ---- released samples (release.smk) ----
def release_model_constraint(): return layout.release_model_constraint(config)
def generated_model_constraint(): return layout.generated_model_constraint(config)
def release_shard_files(template): return layout.release_shard_files(config, template)
def release_inputs(w): return layout.release_inputs(config, w)
def release_targets(): return layout.release_targets(config)


# ---- generation, verification, merge ----
def dataset_files(w): return layout.dataset_files(config, w)
def model_checkpoint(w): return layout.model_checkpoint(config, w)
def adaptive_plan(w): return layout.adaptive_plan(config, w)
def earlier_verdicts(w): return layout.earlier_verdicts(w)
def coverage_targets(): return layout.coverage_targets(config)


def shard_list(w):
    """layout.shard_list, each adaptive plan made first by the adaptive_shard checkpoint (adaptive.smk)."""
    return layout.shard_list(config, w, lambda s: checkpoints.adaptive_shard.get(
        model=w.model, dataset=w.dataset, shard=s).output[0])


def shard_files(template):
    return lambda w: layout.shard_paths(template, w, shard_list(w))


# ---- analysis and report (analysis.smk, fit.smk, report.smk, …) ----
def param(lookup, key):
    """A rule param from a layout.<rule>_params lookup of (config, wildcards)."""
    return lambda w: lookup(config, w)[key]


def model_config_input(w): return layout.model_config_input(config, w)
def matched_inputs(w): return layout.matched_inputs(config, w)
def allocate_inputs(w): return layout.allocate_inputs(config, w)
def selection_input(w): return layout.selection_input(config, w.model, w.dataset)
def report_inputs(w): return layout.report_inputs(config, w)
def analysis_targets(): return layout.analysis_targets(config)
def backtest_targets(): return layout.backtest_targets(config)
def adaptive_targets(): return layout.adaptive_targets(config)
def report_targets(): return layout.report_targets(config)


# ---- paper comparison (paper.smk) ----
def paper_inputs(w): return layout.paper_inputs(config, w)
def paper_targets(): return layout.paper_targets(config)


# ---- search (search.smk) ----
def search_prm_paths(w): return layout.prm_paths(config, w)
def search_strategy_paths(w): return layout.strategy_paths(config, w)
def search_larger_paths(w): return layout.larger_paths(config, w)
def search_targets(): return layout.search_targets(config)
