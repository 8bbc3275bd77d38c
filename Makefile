# tuopin: `make run` runs the Shangluo baseline, `make test` runs the tests.
# Both create .venv (Python 3.12, see .python-version) and install the package on first use.

PYTHON ?= $(shell command -v python3.12 2>/dev/null || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# mypy finds the package by its import name: model/ is linked as tuopin in here (nothing in the tree)
MYPYPATH := $(VENV)/mypy-path

.PHONY: run test bench figures results clean browser

SHIPPED := national shangluo meizhou_qingyuan anshan_gaoxin township

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' 2>/dev/null || \
	  { echo "tuopin needs Python 3.12 (found: $$($(PYTHON) --version 2>&1)); install it, e.g. 'pyenv install 3.12.1'"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@# numba compiles its kernels once per install (about 8 s), here rather than in the first run
	$(BIN)/python -c 'from tuopin.sim import kernels; kernels.prepare(kernels.WORTH_RUNS)'
	@touch $(STAMP)

# make run writes to runs/ (ignored by git): its run.json records the wall time, so writing over the
# shipped results/shangluo/ would change a tracked file on every run. make results rewrites results/.
run: $(STAMP)  ## Shangluo baseline against its plan -> runs/shangluo/
	$(BIN)/tuopin run scenarios/shangluo.yaml --out runs/shangluo

results: $(STAMP)  ## regenerate every shipped results/ folder (runs, figures, sensitivity; about 15 min)
	@for name in $(SHIPPED); do \
	  echo "tuopin run scenarios/$$name.yaml"; \
	  $(BIN)/tuopin run scenarios/$$name.yaml --out results/$$name --quiet || exit 1; \
	done
	$(MAKE) figures
	rm -rf runs/sensitivity_shangluo
	$(BIN)/tuopin sensitivity scenarios/sweeps/shangluo_sobol.yaml --out runs/sensitivity_shangluo --workers 2
	cp runs/sensitivity_shangluo/sensitivity.csv runs/sensitivity_shangluo/sensitivity.png \
	  runs/sensitivity_shangluo/spec.yaml runs/sensitivity_shangluo/run.json results/sensitivity_shangluo/
	$(BIN)/python results/make_readme.py

test: $(STAMP) browser  ## type check (mypy), then the test suite
	@mkdir -p $(MYPYPATH) && ln -sfn ../../model $(MYPYPATH)/tuopin
	MYPYPATH=$(MYPYPATH) $(BIN)/mypy --cache-dir $(VENV)/mypy-cache -p tuopin
	$(BIN)/python -m pytest -q

figures: $(STAMP)  ## report figures, Chinese and English, of every results/<scenario>/ written by tuopin run
	@for dir in results/*/; do \
	  if [ -f "$$dir/run.json" ] && [ -f "$$dir/annual.csv" ]; then \
	    for lang in zh en; do $(BIN)/tuopin figures "$${dir%/}" --lang $$lang || exit 1; done; \
	  fi; \
	done

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis

bench: $(STAMP)  ## benchmarks -> benchmarks/results.md and results.json (see benchmarks/README.md)
	$(BIN)/python benchmarks/run.py

# Debian's Chromium for the dashboard's browser test (tests/test_app_browser.py); Playwright drives
# it at /usr/bin/chromium, so no browser is ever downloaded. fonts-wqy-zenhei lets Chromium draw the
# page's Chinese labels (the figures use the font from PyPI, see model/report/fonts.py). Installed only when missing.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
CJK_FONT := /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc
browser:  ## Debian's chromium, chromium-driver and a Chinese font, if missing
	@test -x /usr/bin/chromium -a -f $(CJK_FONT) || { \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -q && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
	    chromium chromium-driver fonts-wqy-zenhei; }
