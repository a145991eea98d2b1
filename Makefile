# Every target installs what it needs into .venv itself, so a fresh clone needs only `make test`
# or `make run`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: system-deps install test test-cluster test-all test-fast run lint bench docs clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	@echo "installing trialrunner[all] into $(VENV) (pip's output: $(VENV)/pip-install.log)"
	@$(PY) -m pip install --quiet -e '.[all]' > $(VENV)/pip-install.log 2>&1 || { cat $(VENV)/pip-install.log; exit 1; }
	touch $(STAMP)

install: $(STAMP)

## system-deps: Debian packages two tests need (Open MPI, Chromium); where they cannot be
## installed (no root, no network) those tests are skipped and say why
system-deps:
	@timeout 600 bash .ci/setup-mpi >.venv-system-deps.log 2>&1 || echo "Open MPI not installed (see .venv-system-deps.log): the MPI executor test will be skipped"
	@timeout 600 bash .ci/setup-chromium >>.venv-system-deps.log 2>&1 || echo "Chromium not installed (see .venv-system-deps.log): the HTML screenshot test will be skipped"

## TEST_WORKERS: how many processes `make test` and `make test-all` run the tests on
## (pytest-xdist; 0 = one process, as before). The tests mostly wait (process start-up, dask,
## limits), so more processes than cores pay: `make test TEST_WORKERS=0` for one process.
TEST_WORKERS ?= 3
PYTEST := $(PY) -m pytest -q -p no:cacheprovider

# $(call run_tests,MARKS): the tests (tests/cluster aside) that pytest's -m expression MARKS
# selects. On TEST_WORKERS processes: first all but those marked `serial`, then those alone in
# one process (they bound the wall time of an event, which other tests' load stretches: the
# list and why is SERIAL in tests/conftest.py); a pass that finds nothing to run (pytest's exit
# status 5) is no failure; both passes run, and either failing fails the target.
ifeq ($(TEST_WORKERS),0)
run_tests = $(PYTEST) -m '$(1)' --ignore=tests/cluster
else
run_tests = status=0; \
	$(PYTEST) -m '($(1)) and not serial' --ignore=tests/cluster -n $(TEST_WORKERS) \
	  --dist worksteal || status=$$?; \
	$(PYTEST) -m '($(1)) and serial' --ignore=tests/cluster || [ $$? -eq 5 ] || status=1; \
	exit $$status
endif

## test: the default test suite: every behaviour, without the tests marked `exhaustive` (further
## cases of a rule the default run already tests; see docs/decisions.md) and without the tests
## on a real SLURM (tests/cluster: `make test-cluster`; CI runs both, see .ci/run)
test: system-deps $(STAMP)
	$(call run_tests,not exhaustive)

## test-cluster: the tests on a one-node SLURM of this machine (tests/cluster; its fixture
## installs slurmctld, slurmd and munge where it can, else the tests are skipped and say why)
test-cluster: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider tests/cluster

## test-all: the default suite, the SLURM tests and the `exhaustive` tests
test-all: system-deps $(STAMP)
	$(call run_tests,exhaustive or not exhaustive)
	$(PYTEST) tests/cluster

## test-fast: the inner loop, slow, exhaustive and SLURM tests left out, stop at the first failure
test-fast: $(STAMP)
	$(PY) -m pytest -q -x -m 'not slow and not exhaustive' --ignore=tests/cluster

## run: the main job, an optimization on a benchmark problem, printing a result table
run: $(STAMP)
	$(PY) -m benchmarks.demo

lint: $(STAMP)
	$(VENV)/bin/ruff check runner trials tests benchmarks
	$(VENV)/bin/mypy

bench: $(STAMP)
	$(PY) -m benchmarks.bench_serial
	$(PY) -m benchmarks.bench_parallel
	$(PY) -m benchmarks.bench_loop
	$(PY) -m benchmarks.bench_smac
	$(PY) -m benchmarks.bench_reports
	$(PY) -m benchmarks.bench_suite
	$(PY) -m benchmarks.bench_continuation
	$(PY) -m benchmarks.bench_asha_real

## docs: the documentation site (mkdocs-material + mkdocstrings), strict, into site/
DOCS_STAMP := $(VENV)/.docs-installed

$(DOCS_STAMP): $(STAMP) pyproject.toml
	@echo "installing trialrunner[docs] into $(VENV) (pip's output: $(VENV)/pip-docs.log)"
	@$(PY) -m pip install --quiet -e '.[docs]' > $(VENV)/pip-docs.log 2>&1 || { cat $(VENV)/pip-docs.log; exit 1; }
	@touch $(DOCS_STAMP)

docs: $(DOCS_STAMP)
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict --site-dir site

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
