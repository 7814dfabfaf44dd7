"""Model cells: one Hypothesis state machine per data model (as zarr's store state machine).

`models/<model>.py` holds the machine of a data model and a `<Model>ModelTests` class whose case
runs it; the cell `<backend>#model-<model>` runs it against the plugin. Rules are gated by what
the backend declares; the whole state is read back through every declared read path, in an
order Hypothesis chooses, so each path meets state (an expired key, a key another path never
touched) first. Data of several namespaces, and of other models under the same names, sits side
by side. `PRISM_HYPOTHESIS_PROFILE` picks `fast` (the default) or `deep`.
"""

from __future__ import annotations

from prism_accept.conventional import the_class


def model_for(model: str) -> type:
    """The test class of models/<model>.py."""
    return the_class(
        f"prism_accept.models.{model}", lambda c: c.__name__.endswith("ModelTests"), "*ModelTests class", f"no model cell for {model}"
    )
