# Every target creates the virtual environment it needs on first use.
VENV ?= venv
PYTHON := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: venv test test-quick test-live schemas lint render dashboards demo check hadolint workflows-schema checkov

venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt spark_job/requirements.txt
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet -r requirements-dev.txt
	touch $@

## Every test, as CI runs it (the live tests are left out: they need --live, see test-live).
test: $(STAMP)
	$(PYTHON) -m pytest

## The fast subset (no real Spark or Prometheus), for the edit-test loop.
test-quick: $(STAMP)
	$(PYTHON) -m pytest -m "not slow"

## Creates, checks and destroys a throwaway stack on your DigitalOcean account (costs money;
## README "Live test"). Skips with the reason when a token, pulumi, docker or kubectl is missing.
test-live: $(STAMP)
	$(PYTHON) -m pytest --live -m live tests/live

## Downloads the pinned upstream CRDs and chart defaults the tests read into the folder
## SPARK_DOKS_SCHEMAS names (default: tests/upstream.py), on a machine with internet access.
schemas: $(STAMP)
	$(PYTHON) -m tests.upstream

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy infra spark_job spark_runs monitoring policy/spark_doks_policy

## Grafana dashboards generated from monitoring/queries.py (commit the result).
dashboards: $(STAMP)
	$(PYTHON) -m monitoring.dashboards

## Local end-to-end run: data, Spark training scraped by a local Prometheus, report, results.
demo: $(STAMP)
	$(PYTHON) -m monitoring.demo

## Static checks CI runs before the tests; any finding fails the run.
check: lint hadolint workflows-schema checkov

hadolint: $(STAMP)
	$(VENV)/bin/hadolint spark_job/Dockerfile

WORKFLOWS := $(wildcard .github/workflows/*.yml)

workflows-schema: $(STAMP)
	$(if $(WORKFLOWS),$(VENV)/bin/check-jsonschema --builtin-schema vendor.github-workflows \
	  $(WORKFLOWS),@echo "workflows-schema: no .github/workflows/*.yml yet")

# checkov pins libraries that conflict with pulumi's, so it gets a virtualenv of its own.
CHECKOV_VENV ?= venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed

$(CHECKOV_STAMP): requirements-checkov.txt
	python3 -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r requirements-checkov.txt
	touch $@

## checkov on the Dockerfile and the rendered manifests; skips and their reasons: .checkov.yaml.
checkov: $(CHECKOV_STAMP) render
	$(CHECKOV_VENV)/bin/checkov --config-file .checkov.yaml

## Every Kubernetes object the dev, local and prod stacks would apply, rendered under mocks to rendered/.
render: $(STAMP)
	$(PYTHON) -m infra.render --output rendered dev local prod
