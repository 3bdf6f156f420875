# The service as a container image: `make image` builds it where docker is available.
# Build stage: the wheel (setup.py runs protoc, see docs/operations.md) and the wheels it depends on,
# with the postgresql extra (psycopg, for a PostgreSQL store), at the versions constraints.txt pins.
FROM python:3.11.7-slim-bookworm AS build
# A C compiler, so that the build compiles the per-event modules (see setup.py).
RUN apt-get update \
 && apt-get install --yes --no-install-recommends gcc libc6-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml setup.py compiled-modules.txt README.md constraints.txt ./
COPY protos protos
COPY service service
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels . \
 && pip wheel --no-cache-dir --constraint constraints.txt --wheel-dir /wheels \
      "$(ls /wheels/heap_destination-*.whl)[postgresql]"

# Final stage: the same slim base, no compilers, only the wheels, a user that is not root.
FROM python:3.11.7-slim-bookworm
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links /wheels "heap-destination[postgresql]" \
 && rm -rf /wheels \
 && useradd --system --uid 10001 --create-home --home-dir /var/lib/heap-destination heap
USER 10001
WORKDIR /var/lib/heap-destination
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
