# trendlab — the two commands are `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
TRENDLAB := $(VENV)/bin/trendlab
PYTEST_ARGS ?=

.PHONY: install chromium demo test test-unit test-integration stack-up stack-down bench docs clean help

help:
	@echo "make install   create .venv with everything trendlab needs (checks Java 17+)"
	@echo "make demo      run the main job on the embedded default into out/"
	@echo "make test      install, start the real local stack, run every test, stop the stack"
	@echo "make bench     print the benchmarks (ratios against baselines run in the same process)"
	@echo "make docs      build the documentation site from docs/ into site/ (mkdocs build --strict)"

install: $(VENV)/.installed $(VENV)/.native

# The compiled kernels (native/, Rust via maturin): replay's scanner and window counts, the extractor.
# Without cargo trendlab runs the same rules in Python (slower); `make test` then skips their tests.
NATIVE_SRC := native/Cargo.toml native/Cargo.lock native/pyproject.toml native/trendlab_native.pyi $(wildcard native/src/*.rs)
CARGO_TARGET_DIR ?= $(HOME)/.cache/trendlab/cargo-target
$(VENV)/.native: $(VENV)/.installed $(NATIVE_SRC)
	@if command -v cargo >/dev/null; then \
	  CARGO_TARGET_DIR=$(CARGO_TARGET_DIR) $(VENV)/bin/pip install --quiet ./native && touch $@; \
	else echo "make install: cargo not found: the compiled kernels are skipped (same results, replay 2-3x slower; install Rust with rustup)"; fi

$(VENV)/.installed: pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "make install: $(PYTHON) not found (trendlab needs Python 3.11; set PYTHON=...)"; exit 1; }
	@command -v java >/dev/null || { echo "make install: Java 17+ not found: install a JDK 17 or newer (e.g. apt-get install openjdk-17-jdk-headless) and put java on PATH"; exit 1; }
	@v=$$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1); \
	  [ -n "$$v" ] && [ "$$v" -ge 17 ] || { echo "make install: Java 17+ required, found '$$(java -version 2>&1 | head -1)'"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	@$(MAKE) --no-print-directory chromium
	touch $@

# Plot export (kaleido 1.x) needs a Chromium and CJK fonts; Debian's packages, installed when we can.
chromium:
	@if command -v chromium >/dev/null || command -v chromium-browser >/dev/null || command -v google-chrome >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing Debian's chromium and fonts-noto-cjk for PNG export"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
	else echo "make install: no Chromium found; charts stay interactive but PNG export is skipped (apt-get install chromium fonts-noto-cjk)"; fi

demo: install
	$(TRENDLAB) pipeline --profile embedded --out out

test: install
	@set -o pipefail; status=0; \
	$(TRENDLAB) stack up || status=$$?; \
	if [ $$status -eq 0 ]; then TRENDLAB_REQUIRE_STACK=1 $(PY) -m pytest $(PYTEST_ARGS) || status=$$?; fi; \
	$(TRENDLAB) stack down || true; \
	exit $$status

test-unit: install
	$(PY) -m pytest -m "not integration" $(PYTEST_ARGS)

stack-up: install
	$(TRENDLAB) stack up

stack-down: install
	$(TRENDLAB) stack down

bench: install
	$(PY) bench/extract.py
	$(PY) bench/replay.py
	$(PY) bench/service.py
	$(PY) bench/jetstream.py
	$(PY) bench/tune_panel.py

# The site renders the executed notebooks of out/ (made by `make demo` when they are not there yet).
docs: install
	@[ -f out/04_monitor_trends.ipynb ] || $(TRENDLAB) pipeline --profile embedded --out out
	$(VENV)/bin/mkdocs build --strict --site-dir site

clean:
	rm -rf $(VENV) out build site *.egg-info
