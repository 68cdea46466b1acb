# formcheck: two commands on a fresh machine with Python 3.11 (see README).
#   make demo   set up, then count and check a bundled squat clip (writes out/demo/)
#   make test   set up, then run ruff and the test suite
#   make app    set up, then start the app (opens on a bundled sample; no camera needed)
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
DEMO_VIDEO    ?= samples/synth/squat_side.mp4
DEMO_ARGS     ?= --exercise squat
APP_ARGS      ?=

.PHONY: setup demo test lint app clean

$(BIN)/formcheck: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

setup: $(BIN)/formcheck

demo: setup
	$(BIN)/formcheck analyze $(DEMO_VIDEO) --out out/demo $(DEMO_ARGS)

app: setup
	$(BIN)/streamlit run app.py $(APP_ARGS)

lint: setup
	$(BIN)/ruff check .

test: setup lint
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) out .pytest_cache .ruff_cache
