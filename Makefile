# The two commands of a fresh machine:  `make demo`  and  `make test`.
# Everything they need (Debian packages, the venv, the Go-built sandbox binaries) is installed here.
# Heavy builds are cached outside the checkout (~/.cache/validator), so a fresh clone reuses them.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
VALIDATOR := $(VENV)/bin/validator
PYTEST_ARGS ?=
DEBIAN_PACKAGES := prometheus prometheus-pushgateway chromium
VENV_STAMP := $(VENV)/.installed-$(shell sha256sum pyproject.toml | cut -c1-12)

.PHONY: all demo test test-unit test-cluster test-e2e lint schemas constraints venv debian toolchain sandbox-up sandbox-down bench vendor-plotly clean

all: test

$(VENV_STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $@

venv: $(VENV_STAMP)

# Debian packages: Prometheus/promtool for the sandbox and rule tests, the Pushgateway for the export
# tests, Chromium for the report test.
debian:
	@missing=""; for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi; \
	pkill -u prometheus -x prometheus 2>/dev/null || true  # the Debian service's own Prometheus (user prometheus), never a sandbox's

# Kubernetes, etcd, kwok, metrics-server, kube-state-metrics, prometheus-adapter from Go modules.
# First build: ~25-40 min on 2 cores; afterwards a no-op. Resumable after an interruption.
toolchain: venv
	$(PY) -m validator.sandbox.toolchain

lint: venv
	$(VENV)/bin/ruff check src tests
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

# The JSON Schemas of the config files (schemas/*.schema.json), regenerated from their models after a
# change to a suite's, the criteria's or the allow-list's format; tests/unit/config/test_schemas.py fails
# while a published one is stale.
schemas: venv
	$(PY) -m validator.config.schemas

# The exact versions a nightly installs (pip install validator-*.whl -c constraints.txt): the venv's,
# regenerated on purpose after a dependency change (tests/unit/test_constraints.py checks the pins).
constraints: venv
	@{ echo "# pip install -c constraints.txt: the versions the suite was last tested with ($$(date -u +%F))"; \
	  $(PY) -m pip freeze --exclude-editable | grep -v -i '^validator[= ]'; } > constraints.txt

# Re-fetch plotly's basic partial bundle (npm's plotly.js-basic-dist-min, the plotly.js version the
# installed `plotly` ships) into src/validator/bundled/vendor/plotly/, checked against the registry's
# sha512. By hand after a `plotly` upgrade (tests/unit/report/test_plotly_bundle.py says when); it needs
# npm and the npm registry, so `test` and `demo` never call it.
vendor-plotly: venv
	$(PY) tools/vendor_plotly.py

test-unit: venv debian
	$(VENV)/bin/pytest tests/unit $(PYTEST_ARGS)

test-cluster: venv debian toolchain
	$(VENV)/bin/pytest tests/cluster $(PYTEST_ARGS)

test-e2e: venv debian toolchain
	$(VENV)/bin/pytest tests/e2e $(PYTEST_ARGS)

# The README's test command, and exactly what .ci/run calls. Fast unit tests first, whole runs last
# (the nightly on the reference platform, the failure matrix: one run per criterion). Two pytest
# workers, each with a sandbox of its own (tests/support/cluster.py): whole runs mostly wait on
# the compressed clock, so two of them share the 2 cores and the tiers take about half as long.
TEST_WORKERS ?= 2
test: venv debian toolchain lint
	$(VENV)/bin/pytest tests/unit tests/cluster tests/e2e -n $(TEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

sandbox-up: venv debian toolchain
	$(VALIDATOR) sandbox up

sandbox-down: venv
	$(VALIDATOR) sandbox down

# The main job on the sandbox: sandbox up, reference platform deployed (with the simulated
# platform's submission API), the sandbox's context allowed (the allow-list records its cluster
# identity), the nightly suite run; the report's path is printed whatever the verdict.
SANDBOX_ENV = eval "$$($(VALIDATOR) sandbox env)"
POOLS := --node-pool implementation --node-pool quality --node-pool testing --node-pool system

demo: venv debian toolchain
	$(VALIDATOR) sandbox up
	$(VALIDATOR) sandbox deploy testing
	@$(SANDBOX_ENV) && $(VALIDATOR) allow --context "$$VALIDATOR_CONTEXT" --kubeconfig "$$KUBECONFIG" \
	    --namespace agents --namespace workflow-system $(POOLS)
	@$(SANDBOX_ENV) && out=reports/demo-$$(date -u +%Y%m%dT%H%M%SZ) && \
	    $(VALIDATOR) run suites/nightly.yaml --context "$$VALIDATOR_CONTEXT" --output "$$out"; rc=$$?; \
	    echo; echo "report: $$out/report.html  (summary.json and junit.xml beside it)"; exit $$rc

# Every benchmark; each writes benchmarks/results/<name>.json. The sandbox ones start their own clusters.
bench: venv debian toolchain
	$(PY) benchmarks/evaluate_10k.py
	$(PY) benchmarks/evaluate_day.py
	$(PY) benchmarks/report_weight.py
	$(PY) benchmarks/history_detector.py
	$(PY) benchmarks/export_push.py
	$(PY) benchmarks/history_forecast.py
	$(PY) benchmarks/history_backfill.py
	$(PY) benchmarks/load_throughput.py
	$(PY) benchmarks/recorder_at_scale.py  # its own 1,000-node sandbox, ~8 min, before the shared one starts
	$(PY) benchmarks/nightly_at_scale.py  # its own 1,000-node sandbox, 2,000 standing agents, 17-25 min
	$(VALIDATOR) sandbox up
	$(PY) benchmarks/recorder_timing.py
	$(PY) benchmarks/sandbox_lifecycle.py
	$(PY) benchmarks/cpu_instrument.py --label after --runs 3

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
