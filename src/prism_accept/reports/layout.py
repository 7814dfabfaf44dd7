"""The grid both the Markdown and HTML reports show: rows of interfaces grouped by data model
(each group led by the backend's data-model check), then the per-backend checks; one column per
backend."""

from __future__ import annotations

from prism_accept.cellname import INTERFACE, KINDS, MODEL, MODEL_KINDS, CellName


def groups(matrix) -> list[tuple[str, list[str]]]:
    """[(group title, [row keys])]: a row key is an interface or a per-backend check cell; a
    model's group is led by its data-model cell and ends with its other model cells (faults)."""
    present = {cell for row in matrix.cells.values() for cell in row}
    by_model: dict[str, list[str]] = {}
    for interface, model in matrix.models.items():  # catalog order
        if interface in present:
            by_model.setdefault(model, []).append(interface)
    names = {cell: CellName.parse(cell) for cell in present}
    for cell in sorted(present):
        if names[cell].kind is MODEL:
            by_model.setdefault(names[cell].subject, []).insert(0, cell)
        elif names[cell].kind in MODEL_KINDS:
            by_model.setdefault(names[cell].subject, []).append(cell)
    unknown = sorted(c for c in present if c not in matrix.models and names[c].kind is INTERFACE)
    result = [(model, rows) for model, rows in by_model.items()]
    if unknown:
        result.append(("not in the catalog", unknown))
    checks = [c for kind in KINDS if kind.fixed for c in sorted(present) if names[c].kind is kind]
    if checks:
        result.append(("checks", checks))
    return result
