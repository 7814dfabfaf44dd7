"""The Python plugin SDK: what a Prism backend plugin written in Python is built from.

`contracts/<model>/<rest>.py` holds, per interface, the store protocol a backend implements and
the servicer that serves it over gRPC (mirroring the suites' `suites/<model>/<rest>.py`).
`runtime` serves a plugin: handshake, health, lifecycle, request conventions, status mapping.
The acceptance framework never imports this package: plugins are the system under test.
"""
