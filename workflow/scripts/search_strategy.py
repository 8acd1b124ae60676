if __name__ == "__main__":  # vLLM spawns its engine process, which re-imports this file as __mp_main__
    from infscale.cli import run_logged
    from infscale.search.run import search_strategy

    run_logged(snakemake.log[0], search_strategy, snakemake.input.problems, snakemake.output[0], snakemake.params.job,
               (snakemake.input.model or [None])[0])
