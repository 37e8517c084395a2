# JSNA Workbench: the two commands a newcomer needs.
#   make demo   set up .venv, build the demonstration data store, run the main job on it
#   make test   set up .venv with the test extras and run the whole test suite (what CI runs)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
DEMO_STORE ?= data/demo_store
OUT    ?= output

.PHONY: demo test lint bench clean

# Re-installs only when pyproject.toml changes, so a second run is fast.
$(VENV)/.installed: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	@# rfc3987-syntax (an optional jsonschema format checker pulled in by jupyter-events)
	@# builds a grammar at import and adds ~1 s to every `import altair` / kernel start.
	@# Nothing we use needs it; jsonschema skips that format check without it.
	-@$(BIN)/python -m pip uninstall --quiet --yes rfc3987-syntax >/dev/null 2>&1
	@touch $@

# The demonstration store is rebuilt only when its generator changes (it is deterministic, so
# a rebuild gives the same bytes and the batch below still resumes).
$(DEMO_STORE)/manifest.json: $(VENV)/.installed jsna_lib/demo.py data/areas.csv
	$(BIN)/jsna demo --data-dir $(DEMO_STORE)

# The main job: the area profile for all 153 upper-tier authorities (unchanged areas are skipped).
demo: $(DEMO_STORE)/manifest.json
	$(BIN)/jsna info --data-dir $(DEMO_STORE) --html $(OUT)/store_summary.html
	$(BIN)/jsna batch --data-dir $(DEMO_STORE) --out $(OUT)/profiles --areas utla
	@echo
	@echo "Open the reports: $(abspath $(OUT)/profiles/index.html)"

test: $(VENV)/.installed
	@bash tools/ensure_chromium.sh
	$(BIN)/ruff check jsna_lib tests benchmarks
	$(BIN)/python -m pytest

# Speed and memory figures, measured side by side in one run each (see each script's docstring;
# bench_stats.py compares with phstatsmethods when that is installed in a separate venv).
bench: $(VENV)/.installed
	for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) $(DEMO_STORE) $(OUT)
