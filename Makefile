# RFC-015's commands, as thin wrappers over ./pants (see README.md, "Make targets").
# Each target is one ./pants command or build-support script; no logic lives here.
.PHONY: help test-compliance test-interface validate-registry coverage perf

help:  ## list the targets
	@grep -E '^[a-z%-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/'

test-compliance:  ## every compliance cell, then the matrix and the reports in dist/compliance/
	./pants matrix

test-compliance-%:  ## every cell of one backend, e.g. make test-compliance-redis
	./pants matrix tests/compliance:$*

test-interface:  ## one interface on every backend declaring it: make test-interface INTERFACE=keyvalue_scan
	./pants matrix --tag=interface:$(or $(INTERFACE),$(error set INTERFACE, e.g. make test-interface INTERFACE=keyvalue_scan))

validate-registry:  ## the registry files against the schema and the catalog
	./pants test tests/registry::

coverage:  ## every cell under coverage: per-backend reports of plugin code in dist/coverage/ (README, "Coverage")
	build-support/bin/coverage

coverage-%:  ## one backend's cells under coverage, e.g. make coverage-redis
	build-support/bin/coverage $*

perf:  ## performance baselines of every backend (dist/perf/: history.jsonl, perf.md, perf.html); uncached
	build-support/bin/perf

perf-%:  ## performance baselines of one backend, e.g. make perf-redis
	build-support/bin/perf $*
