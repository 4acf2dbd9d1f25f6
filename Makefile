# One entry point for every task. `make run` starts the product, `make test` runs every test.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# `make run` needs only the service and the local stack (requirements-run.txt, no TensorFlow): a
# venv of its own, unless the full one (a superset) is already there.
RUN_VENV ?= $(if $(wildcard $(VENV)/.installed),$(VENV),.venv-run)
RUN_PY := $(RUN_VENV)/bin/python
DATA_DIR ?=
PORT ?= 8000

.PHONY: help venv run-venv run test lint format model train evaluate bench reliability lint-template deploy publish-site clean

help:
	@echo "make run            start the local stack at http://127.0.0.1:$(PORT) (moto S3 + API + site; installs .venv-run/)"
	@echo "make test           lint (ruff, mypy), then run the whole test suite (installs .venv/, TensorFlow included)"
	@echo "make lint           ruff check, ruff format --check and mypy (strict) on the package"
	@echo "make format         let ruff fix what it can and format the code"
	@echo "make model          rebuild every shipped model file, the evaluations and the model card (DATA_DIR=...)"
	@echo "make train          train the digit network alone into build/model/ (DATA_DIR=folder of MNIST's IDX files;"
	@echo "                    without it Keras downloads MNIST: README.md, 'To train again')"
	@echo "make evaluate       evaluate the committed models on the MNIST test set (DATA_DIR as for train)"
	@echo "make bench          cold start, warm latency and install size figures, as JSON (make -s bench > out.json);"
	@echo "                    BENCH_ARGS=\"--against REF\": the API's CPU per request against REF's, alternated in one run"
	@echo "make reliability    hostile inputs, load and storage faults, with a summary"
	@echo "make lint-template  cfn-lint, checkov and the SAM transform on template.yaml"
	@echo "make deploy         sam build + sam deploy + publish the site (needs Docker and AWS credentials)"

venv: $(VENV)/.installed

$(VENV)/.installed: functions/requirements.txt requirements-run.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

run-venv: $(RUN_VENV)/.installed

.venv-run/.installed: functions/requirements.txt requirements-run.txt pyproject.toml
	$(PYTHON) -m venv .venv-run
	.venv-run/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-run.txt
	.venv-run/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

run: run-venv
	PORT=$(PORT) $(RUN_PY) -m infra.local_stack

test: lint
	$(PY) -m pytest -n 2 --dist loadscope --durations=15

# Configured in pyproject.toml ([tool.ruff], [tool.mypy]).
lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: venv
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Where MNIST comes from, said when training or evaluating could not read it.
export MNIST_HINT = MNIST: DATA_DIR=a folder with its four IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, each possibly .gz), or no DATA_DIR: Keras downloads it (needs the internet). README.md, 'To train again'.

# Every shipped model file rebuilt in order (training.pipeline); resumable: finished steps are skipped.
model: venv
	@test -n "$(DATA_DIR)" || { echo "make model needs DATA_DIR=a folder with MNIST's IDX files; $$MNIST_HINT" >&2; exit 2; }
	$(PY) -m training.pipeline --data-dir $(DATA_DIR) $(if $(CORRECTIONS_DIR),--corrections-dir $(CORRECTIONS_DIR),)

train: venv
	$(PY) -m training.fitting.train $(if $(DATA_DIR),--data-dir $(DATA_DIR),) || { status=$$?; echo "$$MNIST_HINT" >&2; exit $$status; }

evaluate: venv
	$(PY) -m training.evaluation.evaluate $(if $(DATA_DIR),--data-dir $(DATA_DIR),) || { status=$$?; echo "$$MNIST_HINT" >&2; exit $$status; }

# Only the JSON on stdout (`make -s bench > out.json`); BENCH_ARGS="--cold-runs 1" and the like,
# BENCH_ARGS="--against REF" to compare the API's CPU per request with REF's (infra/bench_against.py).
bench: venv
	@$(PY) -m infra.bench $(BENCH_ARGS)

reliability: venv
	$(PY) -m infra.reliability

# checkov and the SAM translator get venvs of their own (.venv-checkov, .venv-sam): their pins
# clash with the dev venv's.
lint-template: venv
	$(VENV)/bin/cfn-lint template.yaml
	@cmp -s requirements-checkov.txt .venv-checkov/requirements-checkov.txt || { \
	  $(PYTHON) -m venv --clear .venv-checkov && \
	  .venv-checkov/bin/pip install --quiet -r requirements-checkov.txt && \
	  cp requirements-checkov.txt .venv-checkov/requirements-checkov.txt; }
	.venv-checkov/bin/checkov --file template.yaml --framework cloudformation --skip-download --compact --quiet
	@cmp -s requirements-sam.txt .venv-sam/requirements-sam.txt || { \
	  $(PYTHON) -m venv --clear .venv-sam && \
	  .venv-sam/bin/pip install --quiet -r requirements-sam.txt && \
	  cp requirements-sam.txt .venv-sam/requirements-sam.txt; }
	.venv-sam/bin/python infra/sam_transform.py > /dev/null && echo "SAM transform: ok"

deploy:
	./infra/deploy.sh

clean:
	rm -rf $(VENV) .venv-run .pytest_cache .hypothesis .aws-sam
