"""The five queue suites."""
