# mreg — build, test and run. `make test` and `make run` install what is missing first.
SWIFT      ?= swift
DB         ?= ./mreg.db
HOST       ?= 127.0.0.1
PORT       ?= 8080
PYTHON     ?= python3
VENV       ?= .build/venv
# The schemathesis the API test drives (RegistryServerTests/SchemathesisTests.swift); pinned so its flags stay put.
SCHEMATHESIS_VERSION ?= 4.32.5
STANDARDWEBHOOKS_VERSION ?= 1.3.0

.PHONY: all deps build release test test-tools run demo clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release --product mreg --static-swift-stdlib

test: deps test-tools
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build
	@# The benchmark harness on tiny inputs, so it cannot rot (it checks the harness, not timings).
	MREG_BIN_DIR=.build/debug bench/run.sh --smoke

# Tools the tests drive besides the Swift toolchain: schemathesis and standardwebhooks (the
# webhook receiver's signature check) in a virtualenv of their own, openssl (a test CA for
# HTTPS), python3 (a proxy that loses an answer, a model server stand-in) and Debian's
# prometheus (the rollout-guard tests run their own, on a free port, not its service).
test-tools: $(VENV)/bin/schemathesis $(VENV)/.standardwebhooks-$(STANDARDWEBHOOKS_VERSION)
	@scripts/install-deps.sh openssl python3 prometheus

$(VENV)/bin/python:
	@# Debian's python3 makes virtualenvs only with python3-venv installed.
	$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV) && scripts/install-deps.sh python3-venv && $(PYTHON) -m venv $(VENV); }

$(VENV)/bin/schemathesis: | $(VENV)/bin/python
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check 'schemathesis==$(SCHEMATHESIS_VERSION)'
	@touch $@

$(VENV)/.standardwebhooks-$(STANDARDWEBHOOKS_VERSION): | $(VENV)/bin/python
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check 'standardwebhooks==$(STANDARDWEBHOOKS_VERSION)'
	@touch $@

run: release
	.build/release/mreg serve --db $(DB) --host $(HOST) --port $(PORT)

demo: build
	scripts/demo.sh .build/debug/mreg

clean:
	rm -rf .build

# ---------------------------------------------------------------------------------------------
# Benchmarks (BENCHMARKS.md). Never part of `make test`'s timing assertions.
#   make bench          in process (mreg-bench), over HTTP (wrk), the WAL under 60 s of writes, CLI (hyperfine);
#                       writes bench/results/<date>.json
#   make bench-compare  mreg and MLflow side by side with the same client (installs MLflow into bench/.mlflow/venv)
#   make bench-smoke    a few seconds: checks the harness works, not timings
#   make bench-all      both of the first two, in one go
.PHONY: bench bench-compare bench-smoke bench-all bench-clean

bench: deps
	bench/run.sh

bench-compare: deps
	bench/compare.sh

bench-smoke: deps
	bench/run.sh --smoke

bench-all: bench bench-compare

# Scratch databases and logs of the runs; keeps the MLflow virtualenv (slow to install).
bench-clean:
	rm -rf bench/.work
