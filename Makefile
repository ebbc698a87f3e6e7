# Every target creates the virtual environment it needs on first use. `make` alone lists them.
VENV ?= venv
PYTHON := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# make demo DEMO_ARGS=--keep leaves Prometheus running after the run.
DEMO_ARGS ?=
# make render STACKS="dev staging" renders those stacks' files (Pulumi.<stack>.yaml, or a path).
STACKS ?= dev local prod

.DEFAULT_GOAL := help
.PHONY: help venv test test-quick test-engine test-live schemas lint render dashboards demo check hadolint \
	workflows-schema checkov clean

## This list: every target with its one-line description.
help:
	@awk '/^## /{doc=substr($$0,4); next} /^#/{next} /^[a-z][a-z-]*:/{if (doc) {sub(/:.*/,""); printf "make %-17s %s\n", $$0, doc}} {doc=""}' $(MAKEFILE_LIST)

## The virtual environment venv/ with every pinned dependency (2.5 to 17 min the first time).
venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt spark_job/requirements.txt
	@echo "Creating $(VENV)/ with the pinned dependencies (1.8 GB: minutes, more on a busy machine)..."
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet -r requirements-dev.txt
	touch $@

## Every test, as CI runs it, but the live tests (about 27 min on 2 cores, tools built).
test: $(STAMP)
	$(PYTHON) -m pytest

## The fast subset (no real Spark or Prometheus), for the edit-test loop (about 1.5 min).
test-quick: $(STAMP)
	$(PYTHON) -m pytest -m "not slow"

## The program under the real Pulumi CLI and kubernetes provider against a local API server (slow).
# Needs the toolchain tools/engine/build makes (docs/development.md); skips without it, but fails
# when CI=true. make test runs it too.
test-engine: $(STAMP)
	$(PYTHON) -m pytest -m engine tests/engine

## Create, check and destroy a throwaway stack on your DigitalOcean account (costs money).
# docs/development.md "Live test". Skips with the reason when a token, pulumi, docker or kubectl is missing.
test-live: $(STAMP)
	$(PYTHON) -m pytest --live -m live tests/live

## Download the pinned upstream CRDs and chart defaults the tests read (needs internet access).
# Into the folder SPARK_DOKS_SCHEMAS names (default: see tests/upstream.py).
schemas: $(STAMP)
	$(PYTHON) -m tests.upstream

## ruff lint, ruff format check and mypy.
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy infra spark_job spark_runs monitoring policy/spark_doks_policy

## Grafana dashboards generated from monitoring/queries.py (commit the result).
dashboards: $(STAMP)
	$(PYTHON) -m monitoring.dashboards

## Local end-to-end run: data, Spark training scraped by a local Prometheus, report, results.
demo: $(STAMP)
	$(PYTHON) -m monitoring.demo $(DEMO_ARGS)

## Static checks CI runs before the tests (lint, hadolint, workflows-schema, checkov, zizmor).
# Then zizmor, GitHub Actions' security linter, offline; the audit it skips and why: .github/zizmor.yml.
check: lint hadolint workflows-schema checkov
	$(VENV)/bin/zizmor --offline --config .github/zizmor.yml .github/

## hadolint on the trainer's Dockerfile.
hadolint: $(STAMP)
	$(VENV)/bin/hadolint spark_job/Dockerfile

WORKFLOWS := $(wildcard .github/workflows/*.yml)

## The GitHub workflow files against the workflow JSON schema.
workflows-schema: $(STAMP)
	$(if $(WORKFLOWS),$(VENV)/bin/check-jsonschema --builtin-schema vendor.github-workflows \
	  $(WORKFLOWS),@echo "workflows-schema: no .github/workflows/*.yml yet")

# checkov pins libraries that conflict with pulumi's, so it gets a virtualenv of its own.
CHECKOV_VENV ?= venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed

$(CHECKOV_STAMP): requirements-checkov.txt
	@echo "Creating $(CHECKOV_VENV)/ for checkov (about 1 min the first time)..."
	python3 -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r requirements-checkov.txt
	touch $@

## checkov on the Dockerfile and the rendered manifests; skips and their reasons: .checkov.yaml.
checkov: $(CHECKOV_STAMP) render
	$(CHECKOV_VENV)/bin/checkov --config-file .checkov.yaml

## Every Kubernetes object the dev, local and prod stacks would apply, rendered under mocks to rendered/.
render: $(STAMP)
	$(PYTHON) -m infra.render --output rendered $(STACKS)

## Remove what the targets create: out/, rendered/, both virtualenvs and the tool caches.
clean:
	rm -rf out rendered $(VENV) $(CHECKOV_VENV) .pytest_cache .mypy_cache .ruff_cache
