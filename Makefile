# The two commands of the README: `make run` and `make test`. Both set themselves up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
WORKERS ?= 2
THREADS ?= 8
# The machine's global pip configuration may add local mirrors; install from the index only.
PIP := PIP_CONFIG_FILE=/dev/null $(BIN)/pip

.PHONY: run test lint migrate clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(PIP) install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(PIP) install --quiet -r requirements-dev.txt
	touch $(VENV)/.runtime $@

migrate: $(VENV)/.runtime
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py bootstrap

run: migrate
	@echo "Registry on http://127.0.0.1:$(PORT)/"
	$(BIN)/gunicorn registry_project.wsgi --config deploy/gunicorn.conf.py \
		--bind 127.0.0.1:$(PORT) --workers $(WORKERS) --threads $(THREADS)

test: $(VENV)/.dev
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

clean:
	rm -rf $(VENV) var
