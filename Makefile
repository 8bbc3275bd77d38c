# tuopin: `make run` runs the Shangluo baseline, `make test` runs the tests.
# Both create .venv (Python 3.12, see .python-version) and install the package on first use.

PYTHON ?= $(shell command -v python3.12 2>/dev/null || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: run test bench figures clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' 2>/dev/null || \
	  { echo "tuopin needs Python 3.12 (found: $$($(PYTHON) --version 2>&1)); install it, e.g. 'pyenv install 3.12.1'"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

run: $(STAMP)  ## Shangluo baseline against its plan -> results/shangluo/
	$(BIN)/tuopin run scenarios/shangluo.yaml --out results/shangluo

test: $(STAMP)  ## the test suite
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis

bench: $(STAMP)  ## benchmarks -> benchmarks/results.md and results.json (see benchmarks/README.md)
	$(BIN)/python benchmarks/run.py
