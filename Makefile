# shebao-desk — two set-up commands: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test bench soak clean

run: $(VENV)/.run-installed
	$(BIN)/shebao-desk $(ARGS)

test: $(VENV)/.test-installed
	scripts/install-debian-deps.sh test
	PYTHON=$(BIN)/python scripts/test-services.sh scripts/run-tests.sh $(PYTEST_ARGS)

# The long convergence run (issue #12): SOAK random sync schedules (default 1,000), no time limit.
SOAK ?= 1000
soak: $(VENV)/.test-installed
	scripts/install-debian-deps.sh test
	scripts/test-services.sh $(BIN)/python -m pytest -p no:cacheprovider -q -s tests/test_convergence.py \
	  --soak $(SOAK) --timeout=0

bench: $(VENV)/.test-installed
	scripts/install-debian-deps.sh test
	scripts/test-services.sh $(BIN)/python -m benchmarks

$(VENV)/.run-installed: pyproject.toml
	scripts/install-debian-deps.sh run
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.test-installed: $(VENV)/.run-installed
	$(BIN)/pip install -q -e '.[test]'
	touch $@

clean:
	rm -rf $(VENV) bench-results artifacts *.egg-info
