# Set-up is part of every target: a fresh machine needs only Python 3.11 and make.
SHELL := /bin/bash
UV := $(shell command -v uv 2>/dev/null || echo python3 -m uv)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
export UV_COMPILE_BYTECODE := 1

.PHONY: setup run test browser office uv clean

uv:  ## uv itself, from PyPI, when the machine has none
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet --user uv

.venv/.synced: pyproject.toml uv.lock | uv
	$(UV) sync --locked --compile-bytecode
	touch $@

setup: .venv/.synced

run: setup office  ## the whole pipeline on the bundled sample corpus
	$(UV) run disclosure refresh

test: setup browser office  ## the test suite
	$(UV) run pytest

browser:  ## Debian's Chromium, for the end-to-end UI test
	@command -v chromium >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

office:  ## Debian's LibreOffice (headless), which converts legacy .doc/.wps/.xls reports to DOCX/XLSX for the parser
	@command -v soffice >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libreoffice-writer-nogui libreoffice-calc-nogui >/dev/null; }

clean:
	rm -rf .venv warehouse dbt_project/target dbt_project/logs .pytest_cache .hypothesis
