"""Performance baselines (RFC-015 phase 2): workloads per data model through a plugin's gRPC
surface and through the backend's own client, repeated, with confidence intervals, SLO verdicts
and a history of runs per machine (`build-support/bin/perf`, `make perf`)."""
