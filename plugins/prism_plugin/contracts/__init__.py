"""One module per interface: its store protocol and its servicer (see prism_plugin.contract)."""
