# The two commands of the README: `make run` (the pipeline, embedded, on the demo feeds) and `make test`.
# Both create what they need (virtual environment, Kafka and Elasticsearch from Maven Central) and are safe to
# run twice.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run run-services services services-down docker lint typecheck layers test test-unit bench clean

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip setuptools wheel
	$(BIN)/pip install -q -e '.[dev,fulltext]'
	touch $(STAMP)

install: $(STAMP)

## The main job: the whole pipeline in one process on the demo feeds; search it from another shell.
run: install
	$(BIN)/newswire run --demo

## The same pipeline as three services on a real Kafka and Elasticsearch started on loopback.
run-services: services
	deploy/run-services.sh

services: install
	$(BIN)/newswire services up

services-down: install
	$(BIN)/newswire services down

## A Docker engine, Docker Compose and the compose stack's images, built here (no image registry needed).
docker:
	scripts/docker-setup

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	scripts/typecheck

## The layering contract (app > stages > floor), on the installed module names.
layers: install
	scripts/check-layers

## Everything CI runs: lint, types, and all tests against the real Kafka and Elasticsearch and the compose stack.
## The Docker set-up runs beside the rest (its images take minutes on a fresh machine); the compose tests, which
## run last, wait for it. scripts/run-tests runs the unit tests beside the integration tests, then the end-to-end ones.
test: install
	scripts/docker-setup --background
	$(MAKE) lint typecheck layers services
	scripts/browser-setup
	scripts/run-tests

test-unit: install
	$(BIN)/pytest -p no:cacheprovider tests/unit

## The benchmarks behind the README table, with the commands it gives (about 15 minutes).
bench: install services
	$(BIN)/python bench/ingest_bench.py --feeds 5000
	$(BIN)/python bench/processor_bench.py --articles 1500 --rounds 5
	$(BIN)/python bench/pipeline_bench.py --articles 5000

clean:
	rm -rf .typecheck .mypy_cache .ruff_cache .pytest_cache .hypothesis
