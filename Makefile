# colorbench — the two quick-start commands:
#   make demo   set up (.venv) and run the main job on the bundled samples: run -> score -> report
#   make test   set up (.venv) and run the test suite
# Each installs only what it needs: the demo the metrics, the CNNs, ColTran and DDColor (OpenCV), the tests that plus
# the notebook tools.
# TensorFlow (ColTran's one-time conversion) and the diffusion stack are left out; their tests skip with the
# install command. `.ci/run` uses EXTRAS=all so that nothing skips in CI. No target changes the system outside .venv.
# Override PYTHON to pick an interpreter (>= 3.10); set CONSTRAINTS= to drop the CI pins.

PYTHON ?= python3
VENV ?= .venv
CONSTRAINTS ?= .ci/constraints.txt
DEMO_EXTRAS ?= metrics,cnn,coltran,ddcolor
TEST_EXTRAS ?= metrics,cnn,coltran,ddcolor,notebooks,kaggle,judge,test
EXTRAS ?= $(TEST_EXTRAS)
BIN := $(VENV)/bin
STAMP = $(VENV)/.installed-$(shell echo "$(EXTRAS)" | tr ',' '-')

.PHONY: setup demo test test-fast lint clean-venv

setup: $(STAMP)

# --system-site-packages: reuse what a machine (e.g. Colab, a lab server) already has; pip installs the rest.
# An existing .venv is kept (another extra set, e.g. gpu-check after demo, only adds packages): re-creating it
# rewrote its interpreter under a `colorbench` command running from it.
$(STAMP): pyproject.toml $(CONSTRAINTS)
	test -x $(BIN)/python || $(PYTHON) -m venv --system-site-packages $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(if $(CONSTRAINTS),-c $(CONSTRAINTS)) -e ".[$(EXTRAS)]"
	touch $@

demo:
	$(MAKE) setup EXTRAS=$(if $(filter command line,$(origin EXTRAS)),$(EXTRAS),$(DEMO_EXTRAS))
	$(BIN)/colorbench demo

# lint first (ruff: pyflakes, pycodestyle, import order; config in pyproject.toml), then the suite in parallel:
# pytest-xdist, one worker per core (TEST_WORKERS=auto; set 1 for a serial run). --dist loadfile keeps each test file
# in one worker, so a module's expensive fixtures (models, run folders, the notebook suite) are built once, not once
# per worker. --no-loadscope-reorder: files go out in the collection order, which starts the longest ones first
# (tests/conftest.py HEAVY_FIRST); xdist's own order is by test count, which sent a long 8-test file out near the end.
# Here, not in pytest's addopts: a plain `pytest tests/test_x.py` stays one process.
TEST_WORKERS ?= auto
test: setup
	$(BIN)/python -m ruff check .
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

test-fast: setup
	$(BIN)/python -m pytest -q -m "not slow"

lint: setup
	$(BIN)/python -m ruff check .

clean-venv:
	rm -rf $(VENV)

# On a CUDA machine: every GPU figure (CUDA tests, ColTran, SD1.5+ControlNet, scoring, CNN, Zhang) in one JSON under
# benchmarks/out/. `make gpu-check ARGS=--dry-run` checks the script itself on a CPU at tiny sizes.
# NO_SETUP=1: no .venv, no pip: $(PYTHON) as it is, with src/ on the path (an offline GPU machine that already has
# torch, diffusers, transformers, controlnet_aux, lpips and torch-fidelity; pip can build nothing there).
# It installs the diffusion extra (SD1.5 + ControlNet is one of its three targets) beside the test tools.
GPU_EXTRAS ?= metrics,cnn,coltran,diffusion,test
.PHONY: gpu-check
gpu-check:
	$(if $(NO_SETUP),,$(MAKE) setup EXTRAS=$(GPU_EXTRAS))
	$(if $(NO_SETUP),PYTHONPATH=src $(PYTHON),$(BIN)/python) benchmarks/gpu_check.py $(ARGS)

# Not in CI (it installs Colab's whole stack, GBs): the notebooks on a copy of Colab's published package set, with
# Python 3.13 and a stand-in google.colab; fails when an install changes a package Colab preinstalls, a rerun after
# a failed install fails, or a saved notebook is over 2 MB. Table: benchmarks/out/colab_check.json.
.PHONY: colab-check
colab-check: setup
	$(BIN)/python tools/colab_check.py $(ARGS)
