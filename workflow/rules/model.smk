rule prepare_model:
    output:
        directory(layout.CHECKPOINT),
    params:
        source=lambda wc: infscale_config.canonical(infscale_config.checkpoint_source(config, wc.checkpoint)),
    log:
        "results/logs/prepare_model/{checkpoint}.log",
    resources:
        mem_mb=8000,
        runtime=30,
    conda:
        "../../envs/generate.yaml"
    script:
        "../scripts/prepare_model.py"
