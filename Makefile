# Conveniences over ./shebao, the project's entry point (a bare Debian has no make; see README.md).
.PHONY: run test bench deb app clean

run:
	./shebao run $(ARGS)

test:
	./shebao test $(PYTEST_ARGS)

bench:
	./shebao bench

deb:
	./shebao deb

app:
	./shebao app

.venv/.run-installed .venv/.test-installed: pyproject.toml
	./shebao setup $(if $(findstring test,$@),test,run)

clean:
	rm -rf .venv bench-results artifacts dist build *.egg-info
