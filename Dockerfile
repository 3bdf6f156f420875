# syntax=docker/dockerfile:1
# The service as a container image: `make image` builds it where docker (with BuildKit) is
# available. tests/e2e/test_container_steps.py runs its steps without docker.
# The base: Python 3.11 on Debian bookworm, slim, pinned by its full version. To pin the
# exact image too, build with --build-arg PYTHON_IMAGE=python:3.11.14-slim-bookworm@sha256:…
# (the digest `docker buildx imagetools inspect` prints for the tag).
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

# Build stage: the wheel (setup.py runs protoc, see docs/operations.md) and the wheels it depends on,
# with the postgresql extra (psycopg, for a PostgreSQL store), at the versions constraints.txt pins.
FROM ${PYTHON_IMAGE} AS build
# A C compiler, so that the build compiles the per-event modules (see setup.py).
RUN apt-get update \
 && apt-get install --yes --no-install-recommends gcc libc6-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml setup.py compiled-modules.txt README.md LICENSE constraints.txt ./
COPY protos protos
COPY service service
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels . \
 && pip wheel --no-cache-dir --constraint constraints.txt --wheel-dir /wheels \
      "$(ls /wheels/heap_destination-*.whl)[postgresql]"

# Final stage: the same slim base, no compilers, only the installed wheels, a user that is not
# root. The wheels are mounted from the build stage for the install, so no layer keeps them.
FROM ${PYTHON_IMAGE}
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links /wheels "heap-destination[postgresql]" \
 && useradd --system --uid 10001 --create-home --home-dir /var/lib/heap-destination heap
USER 10001
# Mount a volume here for a SQLite store (HEAP_STORE=sqlite:/var/lib/heap-destination/heap.db).
WORKDIR /var/lib/heap-destination
# No tokens are built in, and serve refuses 0.0.0.0 without them (exit 2, one line naming the
# ways): mount a tokens file and point HEAP_DESTINATION_TOKENS_FILE at it (for example
# /run/secrets/heap-destination-tokens.json), or put the JSON in HEAP_DESTINATION_TOKENS.
# See "Container" in docs/operations.md.
ENV HEAP_DESTINATION_LISTEN=0.0.0.0:50051 \
    HEAP_DESTINATION_METRICS_LISTEN=0.0.0.0:9464 \
    HEAP_GRACE_PERIOD=8
EXPOSE 50051 9464
# SIGTERM starts the drain: health turns NOT_SERVING, pending events get HEAP_GRACE_PERIOD
# seconds to reach Heap. 8 s fits docker stop's default 10 s; Kubernetes gives 30 s.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 \
  CMD ["heap-destination", "health", "--check", "readiness"]
ENTRYPOINT ["heap-destination"]
CMD ["serve"]
