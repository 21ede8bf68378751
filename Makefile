# The book's two commands: `make book` (build the HTML) and `make test` (everything CI checks).
# Both create .venv and install the pinned stack on first use.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
COMPAT := .venv-compat
# Offline data: use the datasets mirror beside the checkout when there is one.
export TEXTCLF_DATA_MIRROR ?= $(abspath $(wildcard ../shared/datasets))

.PHONY: book test unit notebooks assignments compat clean

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet torch==2.13.0   # the CPU wheel; first, so nothing pulls a CUDA build
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

book: $(STAMP)
	$(BIN)/jupyter-book build -W -n --keep-going .
	@echo "The book: file://$(abspath _build/html/index.html)"

unit: $(STAMP)
	$(BIN)/python -m pytest -q tests

notebooks: $(STAMP)
	TEXTCLF_QUICK=1 $(BIN)/python -m pytest -q -p no:cacheprovider --nbval-lax chapters

# The classroom assignments (otter-grader): dist/<name>/student/ to hand out, dist/<name>/autograder/
# with autograder.zip to grade with `otter run`. `make unit` grades them in quick mode.
assignments: $(STAMP)
	$(BIN)/python assignments/build.py

test: unit notebooks book

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
