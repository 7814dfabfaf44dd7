"""The stream suites."""
