# Every target creates the virtual environment it needs on first use.
VENV ?= venv
PYTHON := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: venv test test-quick lint render

venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt spark_job/requirements.txt
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet -r requirements-dev.txt
	touch $@

## Every test, as CI runs it.
test: $(STAMP)
	$(PYTHON) -m pytest

## The fast subset (no real Spark or Prometheus), for the edit-test loop.
test-quick: $(STAMP)
	$(PYTHON) -m pytest -m "not slow"

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy infra spark_job monitoring

## Every Kubernetes object the dev and local stacks would apply, rendered under mocks to rendered/.
render: $(STAMP)
	$(PYTHON) -m infra.render --output rendered dev local
