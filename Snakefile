# infscale: inference-compute scaling experiments (Large Language Monkeys, arXiv 2407.21787; Snell et al.,
# arXiv 2408.03314). Entry point: config, validation, rule includes and the default target.
from snakemake.utils import min_version

min_version("9.0")


# The paper-scale plan unless --configfile names another (merging both would mix the two plans).
if not config:

    configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/problems.smk"
include: "workflow/rules/model.smk"
include: "workflow/rules/generate.smk"
include: "workflow/rules/verify.smk"
include: "workflow/rules/merge.smk"
include: "workflow/rules/release.smk"
include: "workflow/rules/coverage.smk"
include: "workflow/rules/fit.smk"
include: "workflow/rules/analysis.smk"
include: "workflow/rules/backtest.smk"
include: "workflow/rules/adaptive.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/plan.smk"
include: "workflow/rules/paper.smk"
include: "workflow/rules/search.smk"


# Cheap rules run on the submit host under a cluster executor.
localrules:
    all,
    plan,
    prepare_problems,
    merge_shards,
    report_dataset,


rule all:
    input:
        coverage_targets(),
        analysis_targets(),
        backtest_targets(),
        adaptive_targets(),
        report_targets(),
        paper_targets(),
        release_targets(),
    default_target: True
