# The book's two commands: `make book` (build the HTML) and `make test` (everything CI checks).
# Both create .venv and install the locked stack (requirements.lock) on first use.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
COMPAT := .venv-compat
LOCKER := .venv-lock
# Offline data: use the datasets mirror beside the checkout when there is one.
export TEXTCLF_DATA_MIRROR ?= $(abspath $(wildcard ../shared/datasets))

# torch comes first, from PyTorch's CPU index as well as PyPI: pip prefers its 2.13.0+cpu to PyPI's
# 2.13.0, which on Linux is the CUDA build (several GB). Where that index cannot be reached, pip
# warns and takes the wheel it finds elsewhere (here, a local CPU wheel; on Linux, PyPI's CUDA one).
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu

.PHONY: book test unit notebooks browser lab lab-test results lock assignments compat clean

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --retries 1 --extra-index-url $(TORCH_INDEX) torch==2.13.0
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

book: $(STAMP)
	$(BIN)/jupyter-book build -W -n --keep-going .
	@echo "The book: file://$(abspath _build/html/index.html)"

unit: $(STAMP)
	$(BIN)/python -m pytest -q tests

notebooks: $(STAMP)
	TEXTCLF_QUICK=1 $(BIN)/python -m pytest -q -p no:cacheprovider --nbval-lax chapters

# The built book in Debian's chromium at phone and desktop width (installs chromium when missing).
browser: $(STAMP)
	$(BIN)/python -m pytest -q -s --noconftest -p no:cacheprovider tests/browser

# Chapter 1 run with Run > Run All Cells in JupyterLab (quick mode) in Debian's chromium.
lab-test: $(STAMP)
	$(BIN)/python -m pytest -q -s --noconftest -p no:cacheprovider tests/lab

test: unit notebooks book browser lab-test

# Run the chapters yourself: JupyterLab on .venv's kernel at the repository root (open chapters/);
# it prints the URL with its token. Add TEXTCLF_QUICK=1 for the small, fast runs.
lab: $(STAMP)
	$(BIN)/jupyter lab --no-browser --ServerApp.ip=127.0.0.1 --ServerApp.root_dir=$(CURDIR) \
		$(if $(filter 0,$(shell id -u)),--allow-root)

# The results page (chapters/results.md) from results/*.json; tests/test_results_page.py fails when it is stale.
results: $(STAMP)
	$(BIN)/python tools/results_page.py

# Re-resolve requirements.txt into requirements.lock against PyPI (keeps existing pins; add
# UPGRADE=--upgrade to move every package to its newest allowed version).
lock:
	$(PYTHON) -m venv $(LOCKER)
	$(LOCKER)/bin/pip install --quiet uv==0.13.9
	$(LOCKER)/bin/uv pip compile requirements.txt $(UPGRADE) --excludes requirements-excludes.txt \
		--python-version 3.11 --python-platform x86_64-manylinux_2_28 \
		--custom-compile-command "make lock" -o requirements.lock

# The classroom assignments (otter-grader): dist/<name>/student/ to hand out, dist/<name>/autograder/
# with autograder.zip to grade with `otter run`. `make unit` grades them in quick mode.
assignments: $(STAMP)
	$(BIN)/python assignments/build.py


# torchtext works only with torch 2.3: check our tokenizer and vocabulary against it in a venv of its own.
$(COMPAT)/.installed: Makefile
	$(PYTHON) -m venv $(COMPAT)
	$(COMPAT)/bin/pip install --quiet torch==2.3.0 torchtext==0.18.0 "numpy<2" "pandas<2.3" "pyarrow<17" tqdm pytest
	$(COMPAT)/bin/pip install --quiet --no-deps -e .
	touch $@

compat: $(COMPAT)/.installed
	$(COMPAT)/bin/python -m pytest -q -s --noconftest -p no:cacheprovider -W "ignore::UserWarning" tests/compat

clean:
	rm -rf _build dist
