# microsig: one command to build the research report, one to run the tests.
PY     ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
ROOT_FLAG := $(shell [ "$$(id -u)" = 0 ] && echo --allow-root)

.PHONY: venv hbt-venv report report-pdf test lab bench mlflow clean-runs chromium texlive

## the browser test reads the book in Debian's headless Chromium (never a browser download)
chromium:
	@command -v chromium >/dev/null || { apt-get update -q && apt-get install -y -q chromium >/dev/null; }

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# torch first and pinned: an unpinned torch pulls several GB of CUDA wheels
	$(BIN)/python -m pip install -q -c requirements.lock "torch==2.13.0"
	$(BIN)/python -m pip install -q -c requirements.lock -e ".[dev]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "microsig (.venv)" >/dev/null
	touch $@

venv: $(STAMP)

## hftbacktest 2.4.4, the peer 07a checks the order-book engine against, in its own environment: it pins numpy < 2.3
HBT_STAMP := .venv-hbt/.installed-stamp
$(HBT_STAMP): requirements-hbt.lock
	test -x .venv-hbt/bin/python || $(PY) -m venv .venv-hbt
	.venv-hbt/bin/python -m pip install -q -r requirements-hbt.lock
	touch $@

hbt-venv: $(HBT_STAMP)

## make report: set up, run every study whose data is present, build the book
report: $(STAMP) $(HBT_STAMP)
	$(BIN)/microsig report

## make report-pdf: the same report as a PDF (static figures), with TeX Live from Debian's packages
report-pdf: report texlive
	$(BIN)/jupyter-book build book --builder pdflatex
	@echo "pdf: book/_build/latex/book.pdf"

texlive:
	@command -v latexmk >/dev/null && command -v xelatex >/dev/null || { apt-get update -q && apt-get install -y -q --no-install-recommends \
	  texlive-latex-recommended texlive-latex-extra texlive-fonts-recommended texlive-xetex latexmk tex-gyre fonts-freefont-otf >/dev/null; }

## the pytest files run after 04-07 (the rest run beside them): about 250 s of CPU of the ~530 pytest takes
PYTEST_A := tests/test_experiments.py tests/test_store_cache.py tests/test_book_features.py

## kernels and test processes run side by side, one core each: a thread pool per process would oversubscribe the cores
test: export OMP_NUM_THREADS=1
test: export MKL_NUM_THREADS=1
test: export OPENBLAS_NUM_THREADS=1
test: export NUMEXPR_NUM_THREADS=1
test: export NUMBA_NUM_THREADS=1

## make test: set up, check the package matches the notebooks, run the notebook and pytest tests, check notebooks are clean
test: $(STAMP) $(HBT_STAMP) chromium
	$(BIN)/nbdev-export
	@if [ -n "$$(git status --porcelain -- microsig)" ]; then \
	  git status --porcelain -- microsig; \
	  echo "microsig/ differs from what nbs/ exports: run nbdev-export and commit both"; exit 1; fi
	# 00-03, 07a and 07b (the peer check and the study steps: small examples of their own), 09a (its own simulated lake), the runner and the page
	# helpers, two at a time; then two lanes, one per core, balanced on measured CPU seconds (about 470 and 500): 04-07
	# in order (each reads what the one before stored in runs/), then the pytest files that run chapters or sweeps;
	# beside them 09 (reads 03's dataset), 08 (its studies run in temporary folders) and the other pytest files (the
	# session's report fixture among them). Both pytest runs use temporary folders only.
	$(BIN)/nbdev-test --n-workers 2 --timing --file-re '^(0[0-3][a-z]?|07a|07b|09a|9[01])_'
	( for nb in 04_baselines 05_sequence 06_calibration 07_backtest; do \
	  $(BIN)/nbdev-test --timing nbs/$$nb.ipynb || exit 1; done; \
	  $(BIN)/python -m pytest -q --durations=15 $(PYTEST_A) ) & chain=$$!; \
	$(BIN)/nbdev-test --timing nbs/09_walkforward.ipynb && $(BIN)/nbdev-test --timing nbs/08_experiments.ipynb && \
	  $(BIN)/python -m pytest -q --durations=15 $(addprefix --ignore=,$(PYTEST_A)) tests; rest=$$?; \
	wait $$chain; chained=$$?; \
	if [ $$chained -ne 0 ] || [ $$rest -ne 0 ]; then echo "04-07 and $(PYTEST_A): exit $$chained; 09, 08 and the other tests: exit $$rest"; exit 1; fi
	$(BIN)/nbdev-clean
	@if [ -n "$$(git status --porcelain -- nbs)" ]; then \
	  git status --porcelain -- nbs; \
	  echo "notebooks are not clean: run nbdev-clean and commit"; exit 1; fi

## make lab: JupyterLab on 127.0.0.1 with the project's environment as its kernel
lab: $(STAMP)
	$(BIN)/jupyter lab --ip=127.0.0.1 --no-browser $(ROOT_FLAG) --notebook-dir=.

## make bench: every benchmark (prints figures); `microsig bench NAME` runs one
bench: $(STAMP)
	for b in data ingest features models backtest peer sweep; do $(BIN)/microsig bench $$b || exit 1; done

## make mlflow: the MLflow UI on 127.0.0.1 over the project's tracking store
mlflow: $(STAMP)
	$(BIN)/mlflow ui --backend-store-uri sqlite:///$(CURDIR)/mlruns.db --default-artifact-root $(CURDIR)/mlartifacts \
	  --host 127.0.0.1 --port 5000

clean-runs:
	rm -rf runs book/_build book/studies book/_toc.yml
