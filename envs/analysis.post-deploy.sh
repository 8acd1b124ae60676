#!/usr/bin/env bash
# With `--sdm conda`, Snakemake runs envs/<name>.post-deploy.sh once after building envs/<name>.yaml, inside that
# environment and from the working directory Snakemake runs in (the checkout root): the infscale library
# (pyproject.toml) goes into the environment as it goes into the venv with `make deps`. generate.post-deploy.sh
# and verify.post-deploy.sh are links to this file.
set -euo pipefail
test -f pyproject.toml && test -d workflow/infscale || { echo "infscale: run snakemake from the checkout root" >&2; exit 1; }
python -m pip install --quiet --no-deps -e .
