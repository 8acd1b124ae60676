"""Run one stage by hand, outside Snakemake: `python -m infscale <stage> --config C [--model M] [--dataset D] …`.

Every rule has a stage (`python -m infscale --help` lists them; RULES maps rule → stage). A stage builds its inputs,
outputs and params with the same infscale.layout lookups and path templates as its rule and calls the same library
entry point as the rule's script, so a hand run does the job the workflow would do, in place (results/…), which
is how a failed job is rerun and debugged. Wildcards are options: --model --dataset --shard --family --strategy.

    python -m infscale generate --config config/demo.yaml --model smollm2-135m --dataset gsm8k --shard 0
    python -m infscale coverage --config config/demo.yaml --model smollm2-135m --dataset gsm8k
    python -m infscale matched  --config config/config.yaml --family llama-3 --dataset math
    python -m infscale report   --config config/demo.yaml --dataset gsm8k
    python -m infscale plan     --config config/config.yaml

--out replaces the output path of a stage that writes one file; --log also writes the log to a file (the
terminal then shows only summary lines and the one `infscale: …` line of an error, as under Snakemake).
"""

from __future__ import annotations

import argparse

from . import config as C
from . import layout as L
from .cli import run_logged

STAGES = {}  # stage name → function(config, args)
RULES = {}  # rule name (workflow/rules/*.smk) → stage name


def stage(name: str, rule: str, needs: tuple = ("model", "dataset"), outputs: int = 1):
    """Register a stage for `rule`; `needs`: the wildcards it takes; `outputs`: how many files it writes."""
    def register(fn):
        STAGES[name] = (fn, needs, outputs)
        RULES[rule] = name
        return fn
    return register


def _w(a) -> dict:
    return {k: getattr(a, k) for k in ("model", "dataset", "shard", "family", "strategy")}


def _out(a, template: str, **extra) -> str:
    return a.out or template.format(**{**_w(a), **extra})


def _fmt(template: str, a, **extra) -> str:
    return template.format(**{**_w(a), **extra})


def _pick(d: dict, **names) -> dict:
    """{keyword: d[key]} for the entries of `d` present (keyword=key), so that an absent one keeps the entry
    point's own default, as the rule's script does."""
    return {kw: d[key] for kw, key in names.items() if key in d}


def _title(a) -> str:
    return f"{a.model} on {a.dataset}"


# ---- problems, models, generation, verification, merge --------------------------------------------------------

@stage("problems", "prepare_problems", needs=("dataset",))
def _problems(cfg, a):
    from .problems import prepare_problems
    prepare_problems(a.dataset, C.problems_spec(cfg, a.dataset), _out(a, L.PROBLEMS))


@stage("model", "prepare_model", needs=("model",))
def _model(cfg, a):
    from .model import convert_gguf
    name = C.checkpoint(cfg, a.model)
    if name is None:
        raise C.ConfigError(f"model {a.model!r} is not a GGUF model; nothing to convert")
    src = C.canonical(C.checkpoint_source(cfg, name))
    convert_gguf(src["gguf"], _out(a, L.CHECKPOINT, checkpoint=name), src.get("sha256"))


@stage("generate", "generate_shard", needs=("model", "dataset", "shard"))
def _generate(cfg, a):
    from .generate import run
    run(_fmt(L.PROBLEMS, a), _out(a, L.SAMPLES), shard=a.shard, checkpoint_dir=C.checkpoint_dir(cfg, a.model),
        plan_path=(L.adaptive_plan(cfg, _w(a)) or [None])[0], **C.generate_job(cfg, a.model, a.dataset))


@stage("verify", "verify_shard", needs=("model", "dataset", "shard"))
def _verify(cfg, a):
    from .verify import verify_shard
    verify_shard(_fmt(L.PROBLEMS, a), _fmt(L.SAMPLES, a), _out(a, L.VERDICTS), C.verify_options(cfg, a.dataset),
                 a.threads or C.verify_threads(cfg))


@stage("adaptive-shard", "adaptive_shard", needs=("model", "dataset", "shard"))
def _adaptive_shard(cfg, a):
    from .adaptive import write_next_shard
    policy = C.adaptive(cfg, a.dataset)
    if policy is None:
        raise C.ConfigError(f"dataset {a.dataset!r} has no adaptive policy (datasets.{a.dataset}.adaptive)")
    write_next_shard(_fmt(L.PROBLEMS, a), L.earlier_verdicts(_w(a)), _out(a, L.ADAPTIVE_PLAN),
                     samples_per_shard=C.samples_per_shard(cfg, a.dataset), **policy)


@stage("merge", "merge_shards")
def _merge(cfg, a):
    from .merge import merge_shards
    shards = L.shard_list(cfg, _w(a))
    merge_shards(a.model, a.dataset, L.shard_paths(L.SAMPLES, _w(a), shards), L.shard_paths(L.VERDICTS, _w(a), shards),
                 _out(a, L.MERGED))


@stage("import-release", "import_release", outputs=3)
def _import_release(cfg, a):
    from .release import import_job, import_release, release_shards
    shards = release_shards(cfg)
    import_release(C.canonical(import_job(cfg, a.model, a.dataset)), _fmt(L.PROBLEMS, a),
                   L.shard_paths(L.SAMPLES, _w(a), shards), L.shard_paths(L.VERDICTS, _w(a), shards), _fmt(L.MERGED, a))


@stage("release-agreement", "release_agreement", outputs=2)
def _release_agreement(cfg, a):
    from .release import agreement, release_shards
    shards = release_shards(cfg)
    agreement(_fmt(L.PROBLEMS, a), L.shard_paths(L.SAMPLES, _w(a), shards), L.shard_paths(L.VERDICTS, _w(a), shards),
              C.verify_options(cfg, a.dataset), _fmt(L.AGREEMENT, a), _fmt(L.AGREEMENT_DISAGREE, a), a.threads or C.verify_threads(cfg))


@stage("score", "score")
def _score(cfg, a):
    from .score import job, score, verifiers
    if not verifiers(cfg):
        raise C.ConfigError(f"{a.config} has no score.verifiers; nothing to score")
    score(_fmt(L.PROBLEMS, a), L.shard_paths(L.SAMPLES, _w(a), L.shard_list(cfg, _w(a))), _fmt(L.MERGED, a),
          _out(a, L.SCORED), C.canonical(job(cfg, a.model, a.dataset)), C.checkpoint_dir(cfg, a.model))


# ---- analysis -------------------------------------------------------------------------------------------------

@stage("coverage", "coverage", outputs=3)
def _coverage(cfg, a):
    from .coverage import write_coverage
    p = L.coverage_params(cfg, _w(a))
    write_coverage(_fmt(L.MERGED, a), _fmt(L.COVERAGE, a), _fmt(L.PROBLEM_COUNTS, a), _fmt(L.COVERAGE_PNG, a),
                   _title(a), lenient=p["lenient"], adaptive=p["adaptive"],
                   **_pick(p["bootstrap"], n_boot="n", level="level", seed="seed"))


@stage("fit", "fit", outputs=3)
def _fit(cfg, a):
    from .fit import write_fits
    p = L.fit_params(cfg, _w(a))
    write_fits(_fmt(L.COVERAGE, a), _fmt(L.PROBLEM_COUNTS, a), _fmt(L.FIT, a), _fmt(L.FORECAST, a),
               _fmt(L.FIT_PNG, a), _title(a), k_max=p["k_max"],
               **_pick(p["forecast"], n_boot="n_boot", level="level", seed="seed"))


@stage("backtest", "backtest", outputs=2)
def _backtest(cfg, a):
    from .backtest import write_backtest
    b = L.backtest_params(cfg)["backtest"]
    write_backtest(_fmt(L.PROBLEM_COUNTS, a), _fmt(L.BACKTEST, a), _fmt(L.BACKTEST_PNG, a), _title(a),
                   **_pick(b, ms="ms", repeats="repeats", seed="seed"))


@stage("adaptive", "adaptive")
def _adaptive(cfg, a):
    from .adaptive import write_adaptive
    write_adaptive(_fmt(L.MERGED, a), _out(a, L.ADAPTIVE_SIM), **L.adaptive_params(cfg))


@stage("flops", "flops", outputs=2)
def _flops(cfg, a):
    from . import flops
    flops.run(_fmt(L.MERGED, a), _fmt(L.COVERAGE, a), L.flops_params(cfg, _w(a))["shape"],
              (L.model_config_input(cfg, _w(a)) or [None])[0], _fmt(L.FLOPS, a), _fmt(L.FLOPS_PROBLEMS, a))


@stage("cost", "cost", outputs=2)
def _cost(cfg, a):
    from . import cost
    cost.run(_fmt(L.MERGED, a), _fmt(L.COVERAGE, a), L.cost_params(cfg, _w(a))["price"], _fmt(L.COST, a),
             _fmt(L.COST_PROBLEMS, a))


@stage("selection", "selection", outputs=3)
def _selection(cfg, a):
    from . import selection
    p = L.selection_params(cfg)
    selection.run(L.selection_input(cfg, a.model, a.dataset), _fmt(L.SELECTION, a), p["ks"], int(p["trials"]),
                  int(p["seed"]), _fmt(L.SELECTION_GAP, a), _fmt(L.VERIFIERS, a))


@stage("export", "export")
def _export(cfg, a):
    from .export import export
    export(_fmt(L.PROBLEMS, a), L.shard_paths(L.SAMPLES, _w(a), L.shard_list(cfg, _w(a))), _fmt(L.MERGED, a),
           _out(a, L.EXPORT), model=a.model, dataset=a.dataset, **L.export_params(cfg))


@stage("matched", "matched", needs=("family", "dataset"), outputs=2)
def _matched(cfg, a):
    from . import matched
    i, p = L.matched_inputs(cfg, _w(a)), L.matched_params(cfg, _w(a))
    matched.run(dict(zip(p["models"], i["counts"])), dict(zip(p["flops_models"], i["flops"])),
                dict(zip(p["cost_models"], i["costs"])), _fmt(L.MATCHED, a), _fmt(L.MATCHED_PNG, a), p["title"],
                palette=p["palette"])


@stage("allocate", "allocate", needs=("dataset",))
def _allocate(cfg, a):
    from . import allocate
    i, p = L.allocate_inputs(cfg, _w(a)), L.allocate_params(cfg, _w(a))
    allocate.run(dict(zip(p["models"], i["merged"])), dict(zip(p["models"], i["costs"])), _out(a, L.ALLOCATE),
                 cost_column=p["cost"], n_bins=int(p["bins"]), budgets=p["budgets"])


@stage("report", "report_dataset", needs=("dataset",), outputs=len(L.REPORT_FILES))
def _report(cfg, a):
    from .report import write_report
    i, p = L.report_inputs(cfg, _w(a)), L.report_params(cfg, _w(a))

    def by(models, kind):
        return dict(zip(p[models], i[kind]))

    write_report(a.dataset, p["palette"], by("models", "coverage"), by("models", "fits"), by("models", "forecasts"),
                 by("flops_models", "flops"), by("cost_models", "costs"), by("selection_models", "selection"),
                 by("selection_models", "selection_gap"), (i["allocate"] or [None])[0], p["families"], p["notes"],
                 L.report_outputs(a.dataset))


@stage("paper", "paper_comparison", needs=())
def _paper(cfg, a):
    from .paper import write_comparison
    if not L.paper_file(cfg):
        raise C.ConfigError(f"{a.config} has no report.paper_comparison; nothing to compare")
    i, p = L.paper_inputs(cfg), L.paper_params(cfg)
    write_comparison(i["published"], p["pairs"], dict(zip(p["fit_subsets"], i["fits"])),
                     dict(zip(p["coverage_subsets"], i["coverage"])), dict(zip(p["matched_subsets"], i["matched"])),
                     a.out or L.PAPER)


@stage("plan", "plan", needs=(), outputs=3)
def _plan(cfg, a):
    from .plan import run_plan
    p = L.plan_paths()
    run_plan(cfg, p["problems_dir"], p["bench_dir"], p["csv"], p["txt"], p["verdicts_dir"], p["forecast_csv"])


# ---- search ---------------------------------------------------------------------------------------------------

@stage("search-prm-score", "search_prm_score", needs=("model", "dataset", "shard"))
def _search_prm(cfg, a):
    from .search.run import prm_score
    prm_score(_fmt(L.PROBLEMS, a), _fmt(L.SAMPLES, a), _out(a, L.SEARCH_PRM),
              C.canonical(L.prm_job(cfg, a.model, a.dataset)), C.checkpoint_dir(cfg, a.model))


@stage("search-strategy", "search_strategy", needs=("model", "dataset", "strategy"))
def _search_strategy(cfg, a):
    from .search.run import search_strategy
    search_strategy(_fmt(L.PROBLEMS, a), _out(a, L.SEARCH_SAMPLES),
                    C.canonical(L.strategy_job(cfg, a.model, a.dataset, a.strategy)), C.checkpoint_dir(cfg, a.model))


@stage("search-verify", "search_verify", needs=("model", "dataset", "strategy"), outputs=2)
def _search_verify(cfg, a):
    from .search.run import verify_and_merge
    verify_and_merge(_fmt(L.PROBLEMS, a), _fmt(L.SEARCH_SAMPLES, a), _fmt(L.SEARCH_VERDICTS, a),
                     _fmt(L.SEARCH_MERGED, a), a.model, a.dataset, C.verify_options(cfg, a.dataset), a.threads or C.verify_threads(cfg))


@stage("search-difficulty", "search_difficulty", outputs=len(L.SEARCH_DIFFICULTY))
def _search_difficulty(cfg, a):
    from .search.run import difficulty
    difficulty(_fmt(L.MERGED, a), L.prm_paths(cfg, _w(a)), L.strategy_paths(cfg, _w(a)),
               {k: _fmt(t, a) for k, t in L.SEARCH_DIFFICULTY.items()}, model=a.model, dataset=a.dataset,
               **C.canonical(L.difficulty_job(cfg)))


@stage("search-exchange", "search_exchange", outputs=2)
def _search_exchange(cfg, a):
    from .search.run import exchange
    exchange(_fmt(L.SEARCH_DIFFICULTY["bins"], a), _fmt(L.SEARCH_DIFFICULTY["compute_optimal"], a),
             _fmt(L.SEARCH_EXCHANGE, a), _fmt(L.SEARCH_EXCHANGE_PNG, a), model=a.model, dataset=a.dataset,
             larger_merged=(L.larger_paths(cfg, _w(a)) or [None])[0], **C.canonical(L.exchange_job(cfg)))


# ---- command line ---------------------------------------------------------------------------------------------

def _check(cfg: dict, a, needs: tuple, outputs: int) -> None:
    missing = [f"--{n}" for n in needs if getattr(a, n) is None]
    if missing:
        raise C.ConfigError(f"stage {a.stage} needs {', '.join(missing)}")
    for kind, name in (("models", a.model), ("datasets", a.dataset)):
        if name is not None and name not in cfg[kind]:
            raise C.ConfigError(f"unknown {kind[:-1]} {name!r} in {a.config}; known: {', '.join(cfg[kind])}")
    if a.strategy is not None and a.strategy not in L.strategies(cfg):
        raise C.ConfigError(f"unknown strategy {a.strategy!r} in {a.config}; known: {', '.join(L.strategies(cfg))}")
    if a.out and outputs != 1:
        raise C.ConfigError(f"stage {a.stage} writes {outputs} files at the workflow's paths; --out is for "
                            "stages with one output")


def _stage(a) -> None:
    cfg = C.load(a.config)
    fn, needs, outputs = STAGES[a.stage]
    _check(cfg, a, needs, outputs)
    fn(cfg, a)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m infscale", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("stage", choices=list(STAGES))
    ap.add_argument("--config", default="config/config.yaml")
    ap.add_argument("--model")
    ap.add_argument("--dataset")
    ap.add_argument("--shard", type=int)
    ap.add_argument("--family")
    ap.add_argument("--strategy")
    ap.add_argument("--threads", type=int, help="verify stages: worker threads (default: verify.threads)")
    ap.add_argument("--out", help="output path of a one-output stage (default: the workflow's)")
    ap.add_argument("--log", help="also log to this file")
    a = ap.parse_args(argv)
    run_logged(a.log, _stage, a)


if __name__ == "__main__":
    main()
