"""The four graph suites; `graphs.py` holds the calls they build graphs with and the networkx
reference they compute expected results from."""
