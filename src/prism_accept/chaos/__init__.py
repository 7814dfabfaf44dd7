"""Chaos and replica cells: faults injected between a plugin and its backend (issue 18)."""
