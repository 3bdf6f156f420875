# Every target sets up what it needs: a virtual environment with pinned
# dependencies and the Python stubs generated from protos/.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
GEN_DIR := service/heap_destination/v1
PROTOS := $(wildcard protos/heap_destination/v1/*.proto)

.PHONY: setup gen run test test-fast lint contract typecheck unit bench bench-memory bench-one-app dashboard-pictures client-deps image clean

setup: $(VENV)/.installed $(GEN_DIR)/__init__.py $(VENV)/.compiled

# The install compiles the per-event modules to C where a C compiler works (setup.py).
$(VENV)/.installed: pyproject.toml constraints.txt setup.py
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev,postgresql]'
	touch $@ $(VENV)/.compiled

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

$(VENV)/.pictures: pyproject.toml constraints.txt | $(VENV)/.installed
	@command -v prometheus >/dev/null || { echo "prometheus is missing: make client-deps (as root), or apt-get install prometheus"; exit 1; }
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt matplotlib  # the extra, without rebuilding the service
	touch $@

# The tests run in parallel (pytest-xdist): they mostly wait on sockets and processes, so
# more workers than cores pay off; 4 was fastest on a 2-core machine.
PYTEST_WORKERS ?= 4

test: lint contract typecheck
	$(BIN)/pytest -n $(PYTEST_WORKERS)

# Every test but the slow and the e2e ones (markers in pyproject.toml); no lint or typecheck.
test-fast: setup
	$(BIN)/pytest -n $(PYTEST_WORKERS) -m 'not slow and not e2e'

# Debian's Go and Java toolchains for the generated clients' tests, and promtool for the
# alert rules' tests (apt, as root; without them those tests are skipped with the reason).
client-deps:
	sh clients/install-toolchains.sh
	sh deploy/install-promtool.sh

# The container image (see Dockerfile); needs a running docker daemon.
IMAGE ?= heap-destination:0.1.0
image:
	docker build -t $(IMAGE) .

clean:
	rm -rf $(VENV) $(GEN_DIR) build
	find service -name '*.so' -delete
	rm -f service/heap_destination/compiled_sources.sha256
