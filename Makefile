# The two commands: `make demo` and `make test`. Both create the environment when needed.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: venv test test-fast lint demo clean gpu-wheels

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "torch==2.13.0" || $(PY) -m pip install -q "torch>=2.4"
	$(PY) -m pip install -q -e ".[dev]"
	$(PY) -m pip install -q "gymnasium[mujoco]>=1.0" || echo "gymnasium/mujoco unavailable: RL rollouts will be skipped"
	$(PY) -m pip install -q "triton>=3.0" || echo "triton unavailable: Triton kernel tests will be skipped"
	touch $(STAMP)

venv: $(STAMP)

test: $(STAMP)
	MINRNN_DATA_DIR=$${MINRNN_DATA_DIR:-$(CURDIR)/../shared/data} $(PY) -m pytest $(PYTEST_ARGS)

# the whole suite takes ~2 min on 2 cores; test-fast leaves out the cases marked slow
test-fast: PYTEST_ARGS = -m "not slow"
test-fast: test

demo: $(STAMP)
	MINRNN_DATA_DIR=$${MINRNN_DATA_DIR:-$(CURDIR)/../shared/data} $(PY) scripts/demo.py $(DEMO_ARGS)

lint: $(STAMP)
	$(PY) -m ruff check src tests

# the outside kernels that `minrnn bench gpu` compares against, as wheels for the GPU machine (no internet
# there): carry .whl and run `bash benchmarks/gpu/run.sh bench` (see that script)
gpu-wheels: $(STAMP)
	rm -rf .whl
	$(PY) -m pip download -q --no-deps -d .whl fla-core==0.6.0 accelerated-scan==0.3.1 mingru-pytorch==0.2.1

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .hypothesis .ruff_cache
	find . -name __pycache__ -prune -exec rm -rf {} +
