"""MemStore: the embedded reference plugin. Run: python -m prism_accept.plugins.memstore."""
