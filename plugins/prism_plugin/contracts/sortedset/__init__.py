"""The five sorted-set interfaces."""
