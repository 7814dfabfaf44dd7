"""The four time-series suites. Expected answers are computed in the test from the points the
case wrote (plain Python arithmetic), never taken from a backend."""
