# qsign: two commands for a fresh Debian machine.
#   make run    install what is missing, build, initialise on first run, serve (prints the URL)
#   make test   install what is missing, then every test (unit, SoftHSM, SQLite, PostgreSQL, e2e)

SHELL := /bin/bash
CARGO ?= cargo
export CARGO_TARGET_DIR ?= $(CURDIR)/target

# Debian packages: the SoftHSM2 PKCS#11 module and its tools; poppler's pdftocairo draws the
# pages a signer reviews on the web page; openssl, xmlsec1 and poppler's pdfsig check
# signatures in tests, qpdf checks and rewrites PDFs, pdftoppm and pdffonts render visible
# signatures; python3 (its standard XML parser) checks the structure of XAdES output, and in a
# venv runs pyHanko (tests/tools/requirements.txt), which validates PDF signatures; Chromium
# and Node.js (>= 20) with playwright-core (tests/browser/package-lock.json) run the pages end
# to end; pkg-config and a C compiler build the bundled SQLite.
RUN_PACKAGES := softhsm2 openssl ca-certificates gcc pkg-config poppler-utils
TEST_PACKAGES := $(RUN_PACKAGES) procps xmlsec1 python3 python3-venv qpdf chromium chromium-driver nodejs
# The venv for pyHanko, outside the clone so that it survives between runs. (Not QSIGN_*:
# qsign refuses environment variables with its prefix that it does not know.)
export PYHANKO_VENV ?= /var/tmp/qsign-venv
export PYHANKO_PYTHON ?= $(PYHANKO_VENV)/bin/python

.PHONY: run test deps-run deps-test lint unit bench clean-data

run: deps-run
	$(CARGO) build --release --bin qsign
	$(CARGO_TARGET_DIR)/release/qsign serve

test: deps-test lint
	@if $(CARGO) nextest --version >/dev/null 2>&1; then \
	  $(CARGO) nextest run --no-fail-fast; \
	else \
	  echo "cargo-nextest not found: running cargo test one test at a time"; \
	  $(CARGO) test -- --test-threads=1; \
	fi

lint:
	$(CARGO) clippy --all-targets -- -D warnings

bench: deps-test
	$(CARGO) bench --bench hsm
	$(CARGO) bench --bench pki
	$(CARGO) bench --bench audit
	$(CARGO) bench --bench identity
	$(CARGO) bench --bench signing
	$(CARGO) bench --bench formats
	$(CARGO) bench --bench pades
	$(CARGO) bench --bench validate
	$(CARGO) bench --bench csc

deps-run:
	@./softhsm/install-packages.sh $(RUN_PACKAGES)

deps-test:
	@./softhsm/install-packages.sh $(TEST_PACKAGES)
	@if ! $(PYHANKO_PYTHON) -c 'import pyhanko, signxml, aiohttp' 2>/dev/null; then \
	  echo "installing pyHanko into $(PYHANKO_VENV)"; \
	  python3 -m venv $(PYHANKO_VENV) && \
	  $(PYHANKO_VENV)/bin/pip install -q -r tests/tools/requirements.txt; \
	fi
	@command -v npm >/dev/null 2>&1 || ./softhsm/install-packages.sh npm
	@cd tests/browser && npm ci --no-audit --no-fund --loglevel=error >/dev/null

# Removes the embedded default data directory (database, SoftHSM token and its PINs).
clean-data:
	rm -rf ./var
