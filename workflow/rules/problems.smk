rule prepare_problems:
    input:
        dataset_files,
    output:
        layout.PROBLEMS,
    params:
        spec=lambda wc: infscale_config.problems_spec(config, wc.dataset),
    log:
        "results/logs/prepare_problems/{dataset}.log",
    localrule: True
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/prepare_problems.py"
