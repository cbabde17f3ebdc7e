# The two commands of the README: `make up` and `make test`.
VENV := .venv/bin
SYNCOXIDE := $(VENV)/syncoxide

.PHONY: setup up down status test lint

setup:
	@bash scripts/setup.sh

up: setup
	$(SYNCOXIDE) dev up
	$(SYNCOXIDE) demo

down:
	$(SYNCOXIDE) dev down

status:
	$(SYNCOXIDE) dev status

test: setup
	$(VENV)/python -m pytest

lint:
	$(VENV)/ruff check .
