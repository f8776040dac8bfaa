# FastAudio: two commands.
#   make run   set up .venv and start everything (Redis if needed, a worker, the web app)
#   make test  set up .venv (with test tools), run the linters and import contracts, then the tests

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
RUNTIME := $(VENV)/.runtime-installed
DEV := $(VENV)/.dev-installed

.PHONY: run test venv dev bench clean browser screenshots contracts lint

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUNTIME): requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(DEV): $(RUNTIME) requirements-dev.txt requirements-openai-whisper.txt
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(RUNTIME)
dev: $(DEV)

run: $(RUNTIME)
	$(BIN)/python -m cli run

# Browser tests drive Debian's Chromium; install it when missing and we may (never a downloaded browser).
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
		&& (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) \
		|| echo "note: no chromium; browser tests will be skipped"; }

# ruff (lint and format) and mypy on the production packages; settings in pyproject.toml.
lint: $(DEV)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The import contracts of docs/ARCHITECTURE.md (pyproject.toml, [tool.importlinter]).
contracts: $(DEV)
	$(BIN)/lint-imports

test: $(DEV) browser lint contracts
	$(BIN)/python -m pytest

# The README's pictures (docs/*.png), from the running app in headless Chromium; the emoji font
# lets them show the app's emoji.
screenshots: $(DEV) browser
	@fc-list | grep -qi "color emoji" || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
		&& (apt-get update -qq && apt-get install -y -qq fonts-noto-color-emoji >/dev/null) \
		|| echo "note: no emoji font (fonts-noto-color-emoji); emoji show as boxes"; }
	$(BIN)/python -m docs.screenshots

bench: $(DEV)
	$(BIN)/python -m bench.accuracy
	$(BIN)/python -m bench.speed
	$(BIN)/python -m bench.history_speed
	$(BIN)/python -m bench.voices

clean:
	rm -rf $(VENV) .pytest_cache
