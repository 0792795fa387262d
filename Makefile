# Two commands on a fresh machine: `make run` and `make test`. Both create .venv when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test bench lint house clean models quality

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# torch first: a CPU build of this exact release is what the rest is tested with
	$(BIN)/python -m pip install -q "torch==2.13.0"
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $(STAMP)

# the main job: the dispatch baselines, the value-based methods and the critic-free scorers,
# then V1D3's shared values repositioning the fleet (`v1d3/value`) beside the field's two
# rebalancers
RUN_POLICIES := fcfs,nearest,distance,fare,tabular-td,online-td,cvnet,v1d3,ospo,grpo,$\
	v1d3/value,v1d3/min-cost-flow,v1d3/zhang-pavone
run: $(STAMP)
	$(BIN)/v1d3 evaluate --out runs/default --policies $(RUN_POLICIES)

test: $(STAMP)
	$(BIN)/python -m pytest -q -n 2

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

lint: $(STAMP)
	$(BIN)/ruff check src tests bench scripts examples
	$(BIN)/ruff format --check src tests bench scripts examples
	$(BIN)/mypy

# the package's shape: no import circles (lazy ones included), no function over 120 lines
house:
	$(PYTHON) scripts/check_structure.py src

# rebuild the packaged manhattan models (src/v1d3/data/models) from simulated days
models: $(STAMP)
	V1D3=$(BIN)/v1d3 scripts/build_models.sh

# the README's decision-quality tables, one part at a time (each under an hour on 2 cores):
# make quality PART=dispatch (reposition, reposition-after, supply, supply-1.5,
# supply-following, real-days, shocks, ablation, coordination, coordination-1.3, critic-free,
# all)
PART ?= dispatch
quality: $(STAMP)
	V1D3=$(BIN)/v1d3 scripts/quality_study.sh $(PART) reports/quality

clean:
	rm -rf $(VENV) runs .pytest_cache
