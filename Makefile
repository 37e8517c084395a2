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

demo: $(VENV)/.installed
	$(BIN)/jsna demo --data-dir $(DEMO_STORE)
	$(BIN)/jsna info --data-dir $(DEMO_STORE) --html $(OUT)/store_summary.html

test: $(VENV)/.installed
	@bash tools/ensure_chromium.sh
	$(BIN)/ruff check jsna_lib tests benchmarks
	$(BIN)/python -m pytest

bench: $(VENV)/.installed
	$(BIN)/python benchmarks/bench_store.py

clean:
	rm -rf $(VENV) $(DEMO_STORE) $(OUT)
