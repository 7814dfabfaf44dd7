"""The four graph interfaces."""
