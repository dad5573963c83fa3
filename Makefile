# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# pytest-xdist workers for `make test` (live-server tests wait on I/O, so 2 helps even on 2 cores)
TEST_WORKERS ?= 2

.PHONY: demo test install lint messages serve clean

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found; run 'make PYTHON=python3 ...'"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

install: $(VENV)/.installed

## Install, migrate, load the demo data and serve it with a Django-Q2 cluster beside it.
# The demo is development mode, said explicitly: DEBUG defaults to off (settings.py).
# The instance's own URL (printed links, sandbox URLs) follows HOST and PORT unless set.
demo: export DEBUG ?= True
demo: export SITE_URL ?= http://$(HOST):$(PORT)
demo: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py demo
	$(BIN)/python manage.py ensure_schedules
	@echo "Serving on http://$(HOST):$(PORT)/admin/  (Ctrl-C stops the web server and the task cluster)"
	@$(BIN)/python manage.py qcluster & QPID=$$!; \
	trap 'kill $$QPID 2>/dev/null; wait $$QPID 2>/dev/null' EXIT INT TERM; \
	$(BIN)/python manage.py runserver --noreload $(HOST):$(PORT)

## Install and run every test (SQLite by default; set DATABASE_URL for PostgreSQL).
# pytest uses galantis/settings_test.py, which turns DEBUG on.
test: install
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS)

## Re-extract the merchant pages' strings into locale/*/LC_MESSAGES/django.po and compile the .mo files.
# Needs GNU gettext (xgettext, msgmerge, msgfmt); both files are committed, so running the app does not.
MESSAGES_IGNORE := --ignore=.venv --ignore=sandbox --ignore=bench --ignore=tests --ignore='*/tests' \
	--ignore=staticfiles --ignore=var --ignore=docs
messages: export DEBUG ?= True
messages: install
	$(BIN)/python manage.py makemessages --all --no-obsolete $(MESSAGES_IGNORE)
	$(BIN)/python manage.py compilemessages $(MESSAGES_IGNORE)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-* staticfiles
