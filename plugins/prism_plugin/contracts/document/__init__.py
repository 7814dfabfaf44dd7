"""The three document interfaces, and what their servicers share: JSON values and paths
(values.py) and the filter language (filters.py), parsed once so every store gets valid input."""
