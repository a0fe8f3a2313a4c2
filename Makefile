# Conveniences over ./shebao, the project's entry point (a bare Debian has no make; see README.md).
.PHONY: run test bench soak deb app lock clean

run:
	./shebao run $(ARGS)

test:
	./shebao test $(PYTEST_ARGS)

bench:
	./shebao bench

deb:
	./shebao deb

# The long convergence run (issue #12): SOAK random sync schedules (default 1,000), no time limit.
SOAK ?= 1000
soak:
	./shebao setup test
	bash scripts/test-services.sh .venv/bin/python -m pytest -p no:cacheprovider -q -s tests/test_convergence.py \
	  --soak $(SOAK) --timeout=0

app:
	./shebao app

lock:
	./shebao lock

.venv/.run-installed .venv/.test-installed: pyproject.toml requirements/run.txt requirements/test.txt
	./shebao setup $(if $(findstring test,$@),test,run)

clean:
	rm -rf .venv artifacts dist build *.egg-info  # not bench-results/: its history.jsonl is this machine's record
