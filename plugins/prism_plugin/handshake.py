"""The line a plugin prints once it listens (the harness parses it; see the README):

    PRISM_PLUGIN|1|tcp|127.0.0.1:<port>|grpc

core protocol version 1, network, address, protocol: the shape of HashiCorp go-plugin's.
"""

from __future__ import annotations

PREFIX = "PRISM_PLUGIN"
VERSION = "1"


def format_line(address: str) -> str:
    return f"{PREFIX}|{VERSION}|tcp|{address}|grpc"
