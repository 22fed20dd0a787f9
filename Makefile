# The two commands a newcomer needs: `make demo` and `make test`.
# Both set up what they need on first use (.venv, npm packages, Debian packages when root).
PY := .venv/bin/python
SETUP_STAMP := .venv/.oblako-setup

.PHONY: demo test bench lint types contracts pytest micropython mpy setup gen clean

demo: $(SETUP_STAMP)
	$(PY) -m oblako demo

test: $(SETUP_STAMP)
	bash tools/test.sh

BENCH_PG ?= postgresql://postgres@127.0.0.1:5432/postgres

bench: $(SETUP_STAMP)
	$(PY) -m oblako bench codec
	$(PY) -m oblako bench drive
	$(PY) -m oblako bench register
	$(PY) -m oblako bench register-hop  # the receipts bench's register hop, before/after
	$(PY) -m oblako bench ingest --workers 1 --database-url $(BENCH_PG)  # MQTT ingest vs raw paho
	$(PY) -m oblako bench receipts --database-url $(BENCH_PG)  # API → fiscalised → OFD, 50 registers
	$(PY) -m oblako bench delivery  # e-receipts through the cascade to a local SMTP sink
	$(PY) -m oblako bench fleet     # PostgreSQL at 127.0.0.1:5432 (--database-url): the console
	$(PY) -m oblako bench forecast  # PostgreSQL; 100k drives with a year of history
	$(PY) -m oblako bench cabinet   # PostgreSQL; ~8 min to load 100k registers, 10M documents
	$(PY) -m oblako bench receipt-search  # PostgreSQL; 10M documents
	$(PY) -m oblako bench reports   # PostgreSQL; 10M receipts (--documents for fewer)
	$(PY) -m oblako bench compliance  # PostgreSQL; weekly checks, 10k registers, 10M documents

setup: $(SETUP_STAMP)

$(SETUP_STAMP): pyproject.toml package.json tools/setup.sh
	bash tools/setup.sh
	touch $@

# Regenerate the firmware's checked-in copies of the shared spec (decision 2).
gen: $(SETUP_STAMP)
	$(PY) -m oblako gen firmware-tags
	$(PY) -m oblako gen firmware-answers
	$(PY) -m oblako gen portable
	$(PY) -m oblako gen mqtt-schemas

clean:
	rm -rf .venv node_modules .pytest_cache .mypy_cache .ruff_cache .hypothesis
