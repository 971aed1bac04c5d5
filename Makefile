# mreg — build, test and run. `make test` and `make run` install what is missing first.
SWIFT      ?= swift
DB         ?= ./mreg.db
HOST       ?= 127.0.0.1
PORT       ?= 8080

.PHONY: all deps build release test run demo clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release --product mreg

test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

run: release
	.build/release/mreg serve --db $(DB) --host $(HOST) --port $(PORT)

demo: build
	scripts/demo.sh .build/debug/mreg

clean:
	rm -rf .build
