# Two commands on a fresh machine with only Python 3.11+:
#   make run    the whole platform (API + WebSocket, Celery worker, Celery beat) on embedded defaults
#   make test   the whole test suite
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install run test lint fmt bench db-stop clean topology topology-stop

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

# The virtualenv alone (CI needs it for migrations before the tests run).
install: $(STAMP)

run: $(STAMP)
	$(PY) scripts/dev.py run

test: $(STAMP)
	$(PY) scripts/dev.py test $(ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

fmt: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# The scale-out topology on this machine (README "Scale-out topology"): primary + streaming
# replica, PgBouncer, Redis, two web nodes, worker, beat, HAProxy. ARGS passes options through.
topology: $(STAMP)
	$(PY) scripts/topology.py start $(ARGS)

topology-stop: $(STAMP)
	$(PY) scripts/topology.py stop $(ARGS)

db-stop: $(STAMP)
	$(PY) scripts/dev.py db-stop

clean:
	rm -rf $(VENV) var/static .pytest_cache
