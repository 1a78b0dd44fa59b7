# Thin wrappers. `make report` and `make test` each set up everything on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PROFILE ?= quick
DEBIAN_DATA := /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz

.PHONY: setup lock data browser netns report test check lab benchmark accuracy clean-reports

# Exact versions with hashes from requirements.lock (pip-compile's output, `make lock`); then this
# project itself, without its dependencies (they are all in the lock).
$(STAMP): pyproject.toml requirements.lock
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

# Refresh the lock file from pyproject.toml: keeps the pinned versions that still fit
# (UPGRADE=1 takes the newest), in a virtual environment of its own so pip-tools stays out of the
# project's.
lock:
	test -d .venv-lock || $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install --quiet pip-tools==7.6.2
	.venv-lock/bin/pip-compile --quiet --extra test --generate-hashes --allow-unsafe \
	  --strip-extras --no-emit-index-url --no-emit-find-links $(if $(UPGRADE),--upgrade) \
	  -o requirements.lock pyproject.toml

setup: $(STAMP)

# The data: the Debian package when we may install it, else whatever `fmnist-report data` finds
# (FMNIST_DATA_DIR, the Keras cache, a download); it explains how to get the files otherwise.
data: setup
	@if [ ! -f $(DEBIAN_DATA) ] && [ -z "$$FMNIST_DATA_DIR" ] && command -v apt-get >/dev/null \
	    && [ "$$(id -u)" = 0 ]; then \
	  echo "Installing the Debian package dataset-fashion-mnist"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q dataset-fashion-mnist; \
	fi
	$(BIN)/fmnist-report data

# The browser tests drive Debian's Chromium: installed when missing and we may (root on Debian).
browser:
	@if ! command -v chromium >/dev/null && command -v apt-get >/dev/null \
	    && [ "$$(id -u)" = 0 ]; then \
	  echo "Installing the Debian packages chromium and chromium-driver"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	    chromium chromium-driver; \
	fi

# The cluster tests run Ray in a network namespace of its own: `unshare` (util-linux) and `ip`
# (iproute2), installed when missing and we may.
netns:
	@if ! command -v ip >/dev/null && command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  echo "Installing the Debian package iproute2"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q iproute2; \
	fi

report: data
	$(BIN)/fmnist-report build --profile $(PROFILE)

test: data browser netns
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

# The fast inner loop: ruff and the tests that neither train models nor execute notebooks
# (about 2 minutes on 2 cores). Installs nothing system-wide: run `make test` (or `make data`)
# once on a new machine first.
check: setup
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -m "not slow" -q

# JupyterLab on 127.0.0.1 only, with a token; it prints the URL to open. Jupyter refuses to run
# as root without --allow-root, and the Debian path, containers and CI run as root: the flag is
# passed only then.
lab: setup
	$(BIN)/jupyter lab notebooks/ --ip=127.0.0.1 --no-browser \
	  $(if $(filter 0,$(shell id -u)),--allow-root)

benchmark: setup
	$(BIN)/python benchmarks/throughput.py

accuracy: setup
	$(BIN)/python benchmarks/accuracy.py

clean-reports:
	rm -rf reports/smoke reports/quick reports/full
