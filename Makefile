# Two commands for a newcomer: `make run` and `make test`. Everything else is set up on demand.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test migrate token bench schema clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	exec $(PY) server.py serve

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

migrate: $(STAMP)
	$(PY) server.py migrate

token: $(STAMP)
	$(PY) server.py token --role admin

schema: $(STAMP)
	$(PY) server.py export-schema > schema.graphql

bench: $(STAMP)
	$(PY) -m bench

clean:
	rm -rf $(VENV)
