# The entry points a person uses. `make demo` and `make test` work on a fresh machine once
# `.ci/run` (or the steps it takes) has installed PostgreSQL and the Compose v2 plugin.

SHELL := /bin/bash
VERSION ?= $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
TARGET_DIR := target/x86_64-unknown-linux-gnu
CARGO ?= cargo

.PHONY: all build release test lint demo demo-local demo-stop bundle bench clean

all: build

build:
	$(CARGO) build --workspace --bins

release:
	$(CARGO) build --workspace --bins --release

# Formatting and lints first, then every test against the real PostgreSQL and Docker Engine.
test: lint
	$(CARGO) build --workspace --bins
	$(CARGO) build --workspace --bins --release
	bash compose-templates/check-config.sh
	$(CARGO) test --workspace --no-fail-fast

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# The whole air-gap path: build, bundle, install from the .tar.gz, print the address.
demo:
	bash scripts/demo.sh

# The three services as local processes on the local PostgreSQL, for development.
demo-local: build
	bash scripts/demo-local.sh

demo-stop:
	bash scripts/demo-stop.sh

# The release bundle, with a PostgreSQL image built from this machine's Debian packages.
bundle: release
	mkdir -p dist
	$(TARGET_DIR)/release/jim-bundle postgres-image --out dist/jim-postgres.tar
	$(TARGET_DIR)/release/jim-bundle build --version $(VERSION) --out dist \
		--image-tar jim-postgres.tar=dist/jim-postgres.tar --database-image-name jim-postgres.tar

bench: release
	bash bench/run.sh

clean:
	$(CARGO) clean
	rm -rf dist bench/results
