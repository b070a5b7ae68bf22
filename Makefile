# Two commands do all set-up on a fresh machine:
#   make repro   - install into .venv, then `dvc repro` on the bundled Scientific dataset
#   make test    - install into .venv (with test extras), then run the test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install repro repro-authors repro-ce mechanics select-k test bench dvc-yaml dvc-deps plots dag exp docs clean

$(BIN)/solid: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip uninstall --quiet --quiet --yes solid  # the project's former distribution name
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(BIN)/solid

install: $(BIN)/solid

repro: install
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/dvc repro
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/solid table --table 1 --compare paper

# Table 1 under the authors' code's protocol (protocols/authors, a DVC project of its own)
# (then the top-level claims stage again, for its authors'-protocol column: DVC cannot track
# files inside the nested project, so it is forced, alone: `-s`, or -f would rerun every stage
# upstream of it)
repro-authors: install
	cd protocols/authors && PATH="$(CURDIR)/$(BIN):$$PATH" $(CURDIR)/$(BIN)/dvc repro
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/dvc repro -f -s claims
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/solid table --table 1 --compare protocols

# Table 1 trained with softmax cross-entropy over every item (protocols/ce, README "Training
# objectives"; DIN's rows over the positive and 100 sampled negatives: protocols/ce-din) and
# SASRec's grid so trained on the standard encoder (protocols/ce-standard), then
# the top-level table and claims stages again, alone, for Table 1's (CE) reference rows and
# the claims' section C
repro-ce: install
	cd protocols/ce && PATH="$(CURDIR)/$(BIN):$$PATH" $(CURDIR)/$(BIN)/dvc repro
	cd protocols/ce-din && PATH="$(CURDIR)/$(BIN):$$PATH" $(CURDIR)/$(BIN)/dvc repro
	cd protocols/ce-standard && PATH="$(CURDIR)/$(BIN):$$PATH" $(CURDIR)/$(BIN)/dvc repro
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/dvc repro -f -s table
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/dvc repro -f -s claims
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/solid table --table 1 --compare losses

# Studies outside the default pipeline (studies/dvc.yaml; README "SOLID's mechanics")
mechanics: install
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/dvc repro studies/dvc.yaml:mechanics-table
	cat reports/studies/mechanics/table-mechanics.md

select-k: install
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/dvc repro studies/dvc.yaml:k-table
	cat reports/studies/k/table-k.md

# one pytest-xdist worker per core, at most 4 (each builds its own session fixtures); a test
# file runs whole on one worker (its module fixtures, a Ray or SLURM cluster, start once)
TEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 2); [ "$$n" -gt 4 ] && n=4; echo $$n)

test: install
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

bench: install
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python benchmarks/bench.py

# dvc.yaml, its copy solidcli/project/dvc.yaml and studies/dvc.yaml, written whole by
# tools/dvc_yaml.py from its stage list, the grid and each stage's import closure (a test runs
# `--check`): after changing a stage, an import in solidcli/ or params.yaml's axes
dvc-yaml: install
	$(BIN)/python tools/dvc_yaml.py
dvc-deps: dvc-yaml

# the validation curves, one chart per configuration with its seeds overlaid, rendered offline:
# Vega's scripts inline in DVC's page (tools/dvc_plots.py; npm, once), into dvc_plots/index.html
plots: install
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python tools/dvc_plots.py
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/dvc plots show
	$(BIN)/python tools/dvc_plots.py --check dvc_plots/index.html

# `dvc dag` as a narrow list, dvc.yaml and studies/dvc.yaml apart (tools/dvc_dag.py)
dag: install
	$(BIN)/python tools/dvc_dag.py

# `dvc exp show` without the columns nobody reads: only what differs between the experiments,
# no file-hash columns (every column with a path in its name)
exp: install
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/dvc exp show --no-pager --only-changed --drop '.*/'

# the documentation site (mkdocs.yml, docs/): offline, every link checked, into site/
docs: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

clean:
	rm -rf $(VENV)
