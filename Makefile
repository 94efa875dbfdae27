# colorbench — the two quick-start commands:
#   make demo   set up (.venv) and run the main job on the bundled samples: run -> score -> report
#   make test   set up (.venv) and run the test suite
# Override PYTHON to pick an interpreter (>= 3.10); set CONSTRAINTS= to drop the CI pins.

PYTHON ?= python3
VENV ?= .venv
CONSTRAINTS ?= .ci/constraints.txt
EXTRAS ?= metrics,cnn,coltran,convert,diffusion,notebooks,kaggle,test
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell echo "$(EXTRAS)" | tr ',' '-')

.PHONY: setup demo test test-fast clean-venv

setup: $(STAMP)

# --system-site-packages: reuse what a machine (e.g. Colab, a lab server) already has; pip installs the rest.
$(STAMP): pyproject.toml $(CONSTRAINTS)
	$(PYTHON) -m venv --system-site-packages $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(if $(CONSTRAINTS),-c $(CONSTRAINTS)) -e ".[$(EXTRAS)]"
	touch $@

demo: setup
	$(BIN)/colorbench demo

test: setup
	bash .ci/ensure_chromium.sh
	$(BIN)/python -m pytest -q

test-fast: setup
	$(BIN)/python -m pytest -q -m "not slow"

clean-venv:
	rm -rf $(VENV)

# On a CUDA machine: every GPU figure (CUDA tests, ColTran, SD1.5+ControlNet, scoring, CNN, Zhang) in one JSON under
# benchmarks/out/. `make gpu-check ARGS=--dry-run` checks the script itself on a CPU at tiny sizes.
.PHONY: gpu-check
gpu-check: setup
	$(BIN)/python benchmarks/gpu_check.py $(ARGS)
