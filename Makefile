# The two commands of the README: `make run` and `make test`. Everything else is set-up they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app portal
PYTEST_WORKERS ?= 2

.PHONY: run test test-at-hour setup lint translations clean bench soak

setup: $(VENV)/.installed static/vendor/htmx.min.js portal/translations/en/LC_MESSAGES/messages.mo

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund
	touch $@

static/vendor/htmx.min.js: node_modules/.installed
	mkdir -p static/vendor
	cp node_modules/htmx.org/dist/htmx.min.js static/vendor/htmx.min.js

portal/translations/en/LC_MESSAGES/messages.mo: $(VENV)/.installed $(wildcard portal/translations/*/LC_MESSAGES/messages.po)
	$(BIN)/pybabel compile --use-fuzzy -d portal/translations -D messages

# Re-extract every user-facing string; the catalog test fails when this was forgotten.
translations: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k N_ --no-location --sort-output \
		--omit-header -o portal/translations/messages.pot .
	$(BIN)/pybabel update -i portal/translations/messages.pot -d portal/translations -D messages \
		--omit-header --ignore-obsolete

# The job worker (webhook delivery, payment reconciliation) runs alongside the web server, as its
# own process, and so does the Stripe emulator (localstripe) unless real Stripe keys are set: Ctrl-C
# reaches them all; the trap also stops them (SIGTERM) when the server ends by itself, and waits
# for the worker to finish the job in hand. Email goes to SMTP_URL when it is set (say, a local
# catcher: `.venv/bin/python -m aiosmtpd -n -l 127.0.0.1:8025` and SMTP_URL=smtp://127.0.0.1:8025):
# the environment reaches the server and the worker as it is; unset, demo mode captures messages.
run: setup
	$(FLASK) db upgrade
	$(FLASK) demo seed
	pids=""; \
	if [ -z "$$STRIPE_SECRET_KEY" ] || [ -n "$$STRIPE_API_BASE" ]; then \
	  $(BIN)/localstripe --port 8420 --from-scratch >instance/localstripe.log 2>&1 & \
	  pids="$$!"; \
	  $(FLASK) payments connect-emulator || { kill $$pids; exit 1; }; \
	fi; \
	$(FLASK) worker & pids="$$pids $$!"; \
	trap 'kill $$pids 2>/dev/null; wait $$pids 2>/dev/null' EXIT INT TERM; \
	$(FLASK) run --host 127.0.0.1 --port 5000

test: setup
	$(BIN)/pytest -n $(PYTEST_WORKERS)

# The suite with the clock (and its own PostgreSQL's) moved by HOURS: make test-at-hour HOURS=10
test-at-hour: setup
	devtools/test-at-hour $(HOURS)

bench: setup
	$(BIN)/python bench/all.py

soak: setup
	$(BIN)/python bench/soak.py

lint: setup
	$(BIN)/ruff check portal tests bench

clean:
	rm -rf $(VENV) node_modules static/vendor instance
