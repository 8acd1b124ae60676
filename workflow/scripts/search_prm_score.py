if __name__ == "__main__":  # vLLM spawns its engine process, which re-imports this file as __mp_main__
    from infscale.cli import run_logged
    from infscale.search.run import prm_score

    run_logged(snakemake.log[0], prm_score, snakemake.input.problems, snakemake.input.samples, snakemake.output[0],
               snakemake.params.job, (snakemake.input.model or [None])[0])
