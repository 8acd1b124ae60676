if __name__ == "__main__":  # vLLM spawns its engine process, which re-imports this file as __mp_main__
    from infscale.cli import run_logged
    from infscale.generate import run

    run_logged(snakemake.log[0], run, snakemake.input.problems, snakemake.output[0],
               shard=int(snakemake.wildcards.shard), checkpoint_dir=(snakemake.input.model or [None])[0],
               plan_path=(snakemake.input.plan or [None])[0],
               **snakemake.params.job)
