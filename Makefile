# The README's two commands are `make run` and `make test`; the rest serve them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# make test's services: PostgreSQL and Redis on loopback (override to point elsewhere).
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/smsvoice
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
# make bench's Redis database: the benchmarks empty it (and their database) before each
# scenario, so it is not the tests' one.
BENCH_REDIS_URL ?= redis://127.0.0.1:6379/14
PYTEST_ARGS ?=
# make run's address: `make run PORT=8100` serves there, SITE_URL's default (webhooks, links)
# follows it, and localstripe moves to PORT+420 so two demos can run side by side.
PORT ?= 8000
LOCALSTRIPE_PORT ?= $(shell echo $$(( $(PORT) + 420 )))

.PHONY: install run test dev lint bench services clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## run: the embedded demo on http://127.0.0.1:$(PORT) (SQLite, in-process tasks, outbox providers,
##      card payments in test mode against bin/localstripe)
run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo --if-empty
	PORT=$(PORT) LOCALSTRIPE_PORT=$(LOCALSTRIPE_PORT) \
		bin/with-localstripe $(PY) manage.py runserver 127.0.0.1:$(PORT)

## test: the whole suite against real PostgreSQL and Redis (started here if stopped)
test: install services
	DATABASE_URL=$(TEST_DATABASE_URL) CELERY_BROKER_URL=$(TEST_REDIS_URL) \
		$(PY) -m pytest $(PYTEST_ARGS)

services:
	bin/services-up

## dev: web + worker + beat against local PostgreSQL and Redis (DATABASE_URL etc. from .env)
dev: install services
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/smsvoice_dev} \
	CELERY_BROKER_URL=$${CELERY_BROKER_URL:-redis://127.0.0.1:6379/0} \
	PORT=$(PORT) LOCALSTRIPE_PORT=$(LOCALSTRIPE_PORT) \
		bin/with-localstripe bin/dev

lint: install
	$(VENV)/bin/ruff check .
	$(PY) manage.py makemigrations --check --dry-run

## bench: benchmarks that print figures (never asserted)
bench: install services
	DATABASE_URL=$(TEST_DATABASE_URL)_bench CELERY_BROKER_URL=$(BENCH_REDIS_URL) \
		bin/bench

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache
