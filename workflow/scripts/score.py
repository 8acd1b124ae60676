if __name__ == "__main__":  # vLLM spawns its engine process, which re-imports this file as __mp_main__
    from infscale.cli import run_logged
    from infscale.score import score

    run_logged(snakemake.log[0], score, snakemake.input.problems, list(snakemake.input.samples),
               snakemake.input.merged, snakemake.output[0], snakemake.params.job, (snakemake.input.model or [None])[0])
