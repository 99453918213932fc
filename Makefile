PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# Chainer's sdist needs setuptools<81 in pip's isolated build environment: newer pip reads
# PIP_BUILD_CONSTRAINT for that, older pip applies PIP_CONSTRAINT to it.
PIP := PIP_CONSTRAINT=$(CURDIR)/constraints.txt PIP_BUILD_CONSTRAINT=$(CURDIR)/constraints.txt $(VENV)/bin/pip
DEMO_DATA := data/fillets
DEMO_RUN ?= results/demo
# A bounded CPU run (a few minutes); `make demo DEMO_ITERATIONS=5000` trains on from where it stopped.
DEMO_ITERATIONS ?= 200
DEMO_TRAIN_ARGS ?= --preset tiny --iterations $(DEMO_ITERATIONS) --sample-interval 100i
PYTEST_ARGS ?=
RESEMBLYZER_VERSION := 0.1.4

.PHONY: install test demo bench clean browser

$(VENV)/.installed: setup.py constraints.txt Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e '.[test]'
# The GE2E speaker encoder's weights (resemblyzer/pretrained.pt); the package itself, and
# torch, are never imported, so none of its dependencies are installed.
	$(PIP) install --quiet --no-deps resemblyzer==$(RESEMBLYZER_VERSION)
	touch $@

install: $(VENV)/.installed

test: install browser
	$(PY) -m pytest -q $(PYTEST_ARGS) tests

# Headless Chromium renders evaluate.py's listening page in the tests; root installs it.
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium; \
	else echo "chromium is missing: the listening-page test will fail (apt-get install chromium)"; fi

# apt-get download needs package lists; a fresh machine may have none (root can fetch them).
$(DEMO_DATA)/manifest.csv: | install
	@if [ "$$(id -u)" = 0 ] && ! apt-cache show fillets-ng-data-cs >/dev/null 2>&1; then \
		apt-get update -qq; fi
	$(PY) -m chainer_vc.corpus.fillets fetch $(DEMO_DATA)

demo: install $(DEMO_DATA)/manifest.csv
	$(PY) train.py --gpu -1 --manifest $(DEMO_DATA)/manifest.csv --out $(DEMO_RUN) $(DEMO_TRAIN_ARGS)
	$(PY) -m chainer_vc.demo --model $(DEMO_RUN) --manifest $(DEMO_DATA)/manifest.csv
	@echo "plots: $(DEMO_RUN)/*.png  samples: $(DEMO_RUN)/samples/  converted: $(DEMO_RUN)/converted/"

bench: install
	$(PY) bench/run.py --all --out results/benchmarks
	$(PY) bench/judge_speed.py --out results/benchmarks/judge

clean:
	rm -rf $(VENV) .pytest_cache
