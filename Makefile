# Set-up is part of every target: a fresh machine needs only Python 3.11 and make.
SHELL := /bin/bash
UV := $(shell command -v uv 2>/dev/null || echo python3 -m uv)
# where `pip install --user` puts uv's executable (~/.local/bin on Linux)
USER_BIN := $(shell python3 -c 'import site; print(site.USER_BASE)' 2>/dev/null)/bin
PATH_HINT = @command -v uv >/dev/null 2>&1 || echo 'uv is in $(USER_BIN), not on your PATH; for the README'"'"'s `uv run ...` commands run: export PATH="$(USER_BIN):$$PATH"'
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
export UV_COMPILE_BYTECODE := 1

.PHONY: setup run test browser pdftools office redis uv clean

uv:  ## uv itself, from PyPI, when the machine has none; says how to put it on PATH for the README's `uv run ...`
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet --user uv
	$(PATH_HINT)

.venv/.synced: pyproject.toml uv.lock | uv
	$(UV) sync --locked --compile-bytecode
	touch $@

setup: .venv/.synced

run: setup office  ## the whole pipeline on the bundled sample corpus
	$(UV) run disclosure refresh
	$(PATH_HINT)

test: setup browser pdftools office redis  ## the test suite
	$(UV) run pytest

browser:  ## Debian's Chromium, for the end-to-end UI test
	@command -v chromium >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

pdftools:  ## CJK fonts for Chromium's PDF printing and poppler's pdftoppm, for the generated PDF corpus
	@command -v pdftoppm >/dev/null 2>&1 && dpkg -s fonts-noto-cjk >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-cjk poppler-utils >/dev/null; }

office:  ## Debian's LibreOffice (headless), which converts legacy .doc/.wps/.xls reports to DOCX/XLSX for the parser
	@command -v soffice >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libreoffice-writer-nogui libreoffice-calc-nogui >/dev/null; }

redis:  ## Debian's redis-server, the Celery broker the distributed-executor test starts on loopback
	@command -v redis-server >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; }

clean:
	rm -rf .venv warehouse dbt_project/target dbt_project/logs .pytest_cache .hypothesis
