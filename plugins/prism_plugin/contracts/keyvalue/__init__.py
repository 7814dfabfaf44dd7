"""The six keyvalue interfaces."""
