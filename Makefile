# Two commands for a newcomer: `make run` and `make test`. Everything else is set up on demand.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# GraphiQL's files served by this server instead of a CDN, when npm can fetch them (else the CDN).
GRAPHIQL_ASSETS := static/graphiql/manifest.json
IDE_ASSETS := $(if $(shell command -v npm 2>/dev/null),$(GRAPHIQL_ASSETS))

.PHONY: run test check migrate token bench schema client-types clean graphiql-assets lock

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[test,s3]'
	touch $(STAMP)

run: $(STAMP) $(IDE_ASSETS)
	exec $(PY) server.py serve

test: $(STAMP) $(IDE_ASSETS)
	$(PY) -m pytest $(PYTEST_ARGS)

# The gates CI holds before the tests: lint, format and strict types over the whole tree.
check: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

migrate: $(STAMP)
	$(PY) server.py migrate

token: $(STAMP)
	$(PY) server.py token --role admin

schema: $(STAMP)
	$(PY) server.py export-schema > schema.graphql

# TypeScript types for docs/operations.graphql (needs npm), after `make schema`.
client-types:
	cd clients && npm ci --no-audit --no-fund --loglevel=error && npm run --silent codegen

$(GRAPHIQL_ASSETS): $(STAMP) scripts/vendor_graphiql.py
	$(PY) scripts/vendor_graphiql.py

graphiql-assets: $(GRAPHIQL_ASSETS)

# constraints.txt from the installed environment, after a dependency change in pyproject.toml.
lock: $(STAMP)
	{ sed -n '/^#/p' constraints.txt; $(PY) -m pip freeze --exclude-editable; } > constraints.new
	mv constraints.new constraints.txt

bench: $(STAMP)
	$(PY) -m bench

clean:
	rm -rf $(VENV)
