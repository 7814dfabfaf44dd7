"""The document suites: expected answers come from reference.py, plain Python over the
documents a case inserted."""
