# Every target sets up what it needs: a virtual environment with pinned
# dependencies and the Python stubs generated from protos/.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
GEN_DIR := service/heap_destination/v1
PROTOS := $(wildcard protos/heap_destination/v1/*.proto)

.PHONY: setup lock gen run test test-fast lint contract typecheck unit bench bench-memory bench-one-app dashboard-pictures client-deps image clean

setup: $(VENV)/.installed $(GEN_DIR)/__init__.py $(VENV)/.compiled

# Every dependency comes from requirements.lock, each checked against its pinned hashes;
# then the project itself, editable (which pip cannot hash-check), built with the build
# requirements the lock installed. The install compiles the per-event modules to C where a
# C compiler works (setup.py).
LOCK := requirements.lock
PIP_INSTALL := $(BIN)/pip install --quiet --disable-pip-version-check
# A changed lock gets a new environment, so that nothing it dropped stays installed.
$(VENV)/.locked: $(LOCK)
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) --require-hashes -r $(LOCK)
	touch $@

$(VENV)/.installed: pyproject.toml setup.py $(VENV)/.locked
	$(PIP_INSTALL) --no-deps --no-build-isolation --check-build-dependencies -e .
	$(BIN)/pip check || { echo "requirements.lock does not match pyproject.toml: run make lock"; exit 1; }
	touch $@ $(VENV)/.compiled

# Writes requirements.lock again from pyproject.toml (the dev and postgresql extras and the
# build requirements, for Python 3.11, with the hashes of every file of each pinned version,
# so for every platform), keeping each pin constraints.txt holds; then
# requirements-pictures.lock, the pictures extra over those pins (make dashboard-pictures);
# then constraints.txt as both locks' pins without hashes (the Dockerfile and the wheel
# tests use it).
PICTURES_LOCK := requirements-pictures.lock
COMPILE := CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile --quiet --generate-hashes \
	--allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links
LOCK_PINS := sed -n 's/^\([a-z0-9][^ ]*==[^ ]*\).*/\1/p'
lock: $(VENV)/.locked
	$(COMPILE) --all-build-deps --extra dev --extra postgresql --constraint constraints.txt \
		--output-file $(LOCK) pyproject.toml
	$(LOCK_PINS) $(LOCK) > $(VENV)/locked-pins.txt
	$(COMPILE) --extra pictures --constraint $(VENV)/locked-pins.txt --constraint constraints.txt \
		--output-file $(PICTURES_LOCK) pyproject.toml
	{ echo "# The pins of $(LOCK) and $(PICTURES_LOCK) without hashes, written by make lock."; \
	  echo "# Pin a new or upgraded dependency here (and in pyproject.toml), then run make lock."; \
	  $(LOCK_PINS) $(LOCK) $(PICTURES_LOCK) | LC_ALL=C sort -u; } > constraints.txt

# ...and compiles them again whenever one changes: the compiled module is the one imported.
# (compiled-modules.txt lists them, for setup.py too.)
COMPILED_SOURCES := $(shell cat compiled-modules.txt)
$(VENV)/.compiled: compiled-modules.txt $(COMPILED_SOURCES) | $(VENV)/.installed
	$(BIN)/python setup.py --quiet build_ext --inplace --force
	touch $@

# Python messages, typed message stubs (.pyi) and typed gRPC stubs, from protos/.
gen: $(GEN_DIR)/__init__.py

$(GEN_DIR)/__init__.py: $(PROTOS) $(VENV)/.installed
	rm -rf $(GEN_DIR)
	$(BIN)/python -m grpc_tools.protoc -I protos \
		--python_out=service \
		--grpc_python_out=service \
		--plugin=protoc-gen-mypy=$(BIN)/protoc-gen-mypy \
		--plugin=protoc-gen-mypy_grpc=$(BIN)/protoc-gen-mypy_grpc \
		--mypy_out=service \
		--mypy_grpc_out=service \
		$(PROTOS)
	touch $@

# Starts the local Heap simulator and the service pointed at it (see README).
run: setup
	$(BIN)/heap-destination run

lint: setup
	$(BIN)/buf lint
	$(BIN)/ruff check service tests benchmarks examples
	$(BIN)/ruff format --check service tests benchmarks examples
	$(BIN)/python -m heap_destination.app.layout_check

# The contract is a public API: no breaking change against the previous commit of main.
# A breaking change goes into a new versioned package (heap_destination.v2), see
# docs/clients.md.
contract: setup
	@if git rev-parse -q --verify HEAD~1 >/dev/null 2>&1; then \
		$(BIN)/buf breaking --against '.git#ref=HEAD~1' && echo "buf breaking: no breaking change against HEAD~1"; \
	else \
		echo "buf breaking: skipped, this checkout has no previous commit to compare with"; \
	fi

typecheck: setup
	$(BIN)/mypy

unit: setup
	$(BIN)/pytest tests/domain tests/sim -q

# Throughput, latency and memory of stream, unary and one-request-per-event delivery
# (see benchmarks/bench.py; BENCH_* variables set the event counts).
bench: setup
	$(BIN)/python -m benchmarks.bench
	$(BIN)/python -m benchmarks.stored
	$(BIN)/python -m benchmarks.memory
	$(BIN)/python -m benchmarks.one_app
	$(BIN)/python -m benchmarks.health_check
	$(BIN)/python -m benchmarks.sender

# Peak memory of the service under floods of heavy, long and unread events.
bench-memory: setup
	$(BIN)/python -m benchmarks.memory

# One app past Heap's bulk cap: the budget scheduler against bulk only (see
# benchmarks/one_app.py; ONE_APP_* variables shorten it).
bench-one-app: setup
	$(BIN)/python -m benchmarks.one_app
	$(BIN)/python -m benchmarks.health_check

# docs/dashboard/*.png: a real Prometheus scrapes the service through a load run with an
# outage of Heap, and the dashboard's own queries are plotted (benchmarks/dashboard_pictures.py;
# PICTURES_* variables change the run). Needs Debian's prometheus (`make client-deps` as
# root installs it) and the `pictures` extra (matplotlib), which only this target installs.
dashboard-pictures: setup $(VENV)/.pictures
	$(BIN)/python -m benchmarks.dashboard_pictures

$(VENV)/.pictures: $(PICTURES_LOCK) | $(VENV)/.installed
	@command -v prometheus >/dev/null || { echo "prometheus is missing: make client-deps (as root), or apt-get install prometheus"; exit 1; }
	$(PIP_INSTALL) --require-hashes -r $(PICTURES_LOCK)  # the extra, without rebuilding the service
	touch $@

# The tests run in parallel (pytest-xdist): they mostly wait on sockets and processes, so
# more workers than cores pay off; 4 was fastest on a 2-core machine.
PYTEST_WORKERS ?= 4

test: lint contract typecheck
	$(BIN)/pytest -n $(PYTEST_WORKERS)

# Every test but the slow and the e2e ones (markers in pyproject.toml); no lint or typecheck.
test-fast: setup
	$(BIN)/pytest -n $(PYTEST_WORKERS) -m 'not slow and not e2e'

# Debian's Go and Java toolchains for the generated clients' tests, promtool for the alert
# rules' tests and Chromium for the web snippet's browser test (apt, as root; without
# them those tests are skipped with the reason). Each is tried even if one before failed.
client-deps:
	status=0; \
	sh clients/install-toolchains.sh || status=$$?; \
	sh deploy/install-promtool.sh || status=$$?; \
	sh clients/install-chromium.sh || status=$$?; \
	exit $$status

# The container image (see Dockerfile); needs a running docker daemon.
IMAGE ?= heap-destination:0.1.0
image:
	docker build -t $(IMAGE) .

clean:
	rm -rf $(VENV) $(GEN_DIR) build
	find service -name '*.so' -delete
	rm -f service/heap_destination/compiled_sources.sha256
