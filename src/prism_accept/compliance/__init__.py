"""The compliance matrix: the per-backend undeclared-interfaces check, the cell fixtures, and
the report built from the per-cell results."""
