"""The four list interfaces."""
