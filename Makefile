# bundle: build self-extracting Harbor upgrade bundles for air-gapped hosts.
# `make demo` shows the whole job on the built-in fake Harbor; `make test` runs every test.
SHELL := /bin/bash
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
BIN := bin/bundle

# Packages whose tests are CPU-bound and cheap enough to run under the race detector. The
# Docker end-to-end packages (fake Harbor, upgrade) spend their time waiting on containers and
# run without it.
RACE_PKGS := ./progress ./selfextract ./payload ./harbor ./sign ./cmd/bundle ./bench/report ./bench/cmd/benchtool \
	./internal/e2elock ./internal/fakeharbor/release ./internal/fakeharbor/roles ./internal/fakeharbor/installer
ALL_PKGS := $(shell $(GO) list ./... 2>/dev/null | sed 's|^github.com/harborbundle/bundle|.|')
# The packages whose tests use the Docker engine: the two that install fake Harbors (their
# Harbor tests take turns on the e2e lock; make test lasts as long as their Docker operations)
# first, as go test starts packages in the order given. The other packages (builder, ...) are
# CPU-bound: they run in the background leg with the race-detector ones. A new package whose
# tests start containers belongs here.
E2E_PKGS := ./upgrade ./internal/fakeharbor ./internal/docker
CPU_PKGS := $(filter-out $(RACE_PKGS) $(E2E_PKGS),$(ALL_PKGS))
# make test fuzzes each target briefly; make fuzz runs them longer.
TEST_FUZZTIME ?= 5s
FUZZTIME ?= 60s

.PHONY: build test test-long demo demo-2x bench bench-large dist fuzz tools fmt-check vet tidy-check staticcheck clean

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/bundle

# Debian tools the tests and benchmarks drive (installed only when missing: CI may be fresh).
# Debian's python3 with jinja2/yaml/click/packaging runs Harbor's real migrator and prepare
# (../shared/harbor-real) in the differential tests; the python3 first on PATH may lack them.
# staticcheck comes from the Go module proxy at a pinned version, built once into GOPATH/bin.
# docker compose v2 (the CLI plugin Harbor 2.x's install.sh prefers) is built from its Go module
# at a pinned version into /usr/local/lib/docker/cli-plugins, cached per version (first build
# takes minutes, then seconds): scripts/build-compose-plugin.sh.
COMPOSE_VERSION ?= v2.40.3
STATICCHECK_VERSION ?= v0.8.2
STATICCHECK := $(shell $(GO) env GOPATH)/bin/staticcheck
tools:
	@missing=(); \
	for t in strace:strace minisign:minisign skopeo:skopeo makeself:makeself /usr/bin/time:time gpg:gnupg jq:jq zstd:zstd xz:xz-utils; do \
	  command -v $${t%%:*} >/dev/null || missing+=($${t#*:}); \
	done; \
	[ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import jinja2, yaml, click, packaging' 2>/dev/null || \
	  missing+=(python3 python3-jinja2 python3-yaml python3-click python3-packaging); \
	if [ $${#missing[@]} -gt 0 ]; then \
	  echo "installing: $${missing[*]}"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $${missing[@]} >/dev/null; \
	fi
	@if ! $(STATICCHECK) -version 2>/dev/null | grep -q '($(STATICCHECK_VERSION:v%=%))'; then \
	  echo "installing staticcheck $(STATICCHECK_VERSION)"; \
	  (cd / && GOFLAGS=-mod=mod $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)); \
	fi
	@GO=$(GO) bash scripts/build-compose-plugin.sh $(COMPOSE_VERSION)

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

# go.mod and go.sum are exactly what the imports need.
tidy-check:
	@$(GO) mod tidy -diff >/dev/null || { echo "go.mod/go.sum are not tidy: run go mod tidy"; $(GO) mod tidy -diff; exit 1; }

staticcheck: tools
	$(STATICCHECK) ./...

# Two legs at the same time: the Docker end-to-end packages, and in the background the CPU-bound
# work (the race-detector packages, the other packages, then every fuzz target briefly), whose
# output is printed when both are done. The Harbor end-to-end tests serialise themselves on the
# e2e lock, so make test lasts as long as their Docker operations: the CPU leg runs at nice 10
# and takes mostly the CPU they leave (on 2 cores it otherwise slowed every container start of
# the serialised e2e tests). -p 2 lets the fake's CPU-only tests (the differential image test)
# and internal/docker run while upgrade holds the lock.
test: tools fmt-check vet tidy-check staticcheck
	@cpu_log=$$(mktemp); \
	{ nice -n 10 $(GO) test -race -count=1 -timeout 40m $(RACE_PKGS); rc=$$?; \
	  nice -n 10 $(GO) test -count=1 -timeout 40m $(CPU_PKGS) || rc=1; \
	  GO=$(GO) nice -n 10 bash scripts/fuzz.sh $(TEST_FUZZTIME) || rc=1; exit $$rc; } >"$$cpu_log" 2>&1 & cpu_pid=$$!; \
	$(GO) test -count=1 -timeout 80m -p 2 $(E2E_PKGS); e2e_rc=$$?; \
	wait $$cpu_pid; cpu_rc=$$?; \
	echo "--- race-detector and CPU-bound packages, fuzzing:"; cat "$$cpu_log"; rm -f "$$cpu_log"; \
	[ $$e2e_rc -eq 0 ] && [ $$cpu_rc -eq 0 ]

# The packages with soaks and large-size runs (the large fake release, minisign's full scrypt
# cost), too slow for CI; every kill point and failure injection of the upgrade runs in make test.
test-long: tools
	$(GO) test -tags long -count=1 -timeout 90m -p 1 ./internal/fakeharbor/... ./sign/...

# Every fuzz target, one after the other (go test -fuzz takes one target per run).
fuzz:
	@GO=$(GO) bash scripts/fuzz.sh $(FUZZTIME)

demo: tools build
	bash scripts/demo.sh

# The same story on Harbor 2.x: 2.13.5 (trivy) -> 2.15.2 (PostgreSQL 15 -> 18, valkey), then rollback.
demo-2x: tools build
	bash scripts/demo-2x.sh

bench: tools build
	bash scripts/bench.sh

# The same figures at 3 GiB of image content, to show how the cost grows.
bench-large: tools build
	BENCH_SIZES=3GiB BENCH_COMMAND="make bench-large" bash scripts/bench.sh

dist:
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o dist/bundle-linux-amd64 ./cmd/bundle
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o dist/bundle-linux-arm64 ./cmd/bundle
	cd dist && sha256sum bundle-linux-* > SHA256SUMS

clean:
	rm -rf bin dist
