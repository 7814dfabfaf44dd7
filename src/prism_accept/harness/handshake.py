"""The plugin start-up handshake, as the harness reads it.

A plugin started by the harness binds 127.0.0.1 on an ephemeral port and then prints exactly one
line on stdout:

    PRISM_PLUGIN|1|tcp|127.0.0.1:<port>|grpc

(core protocol version 1, network, address, protocol; the shape of HashiCorp go-plugin's). It
exits when its stdin reaches end of file, so a plugin never outlives the harness that started it.
Any language can print it; the Python plugin SDK does in prism_plugin.handshake.
"""

from __future__ import annotations

PREFIX = "PRISM_PLUGIN"
VERSION = "1"
EXAMPLE = f"{PREFIX}|{VERSION}|tcp|<host>:<port>|grpc"


def parse_line(line: str) -> str:
    """The address of a handshake line; ValueError saying what is wrong otherwise."""
    parts = line.strip().split("|")
    if len(parts) != 5 or parts[0] != PREFIX:
        raise ValueError(f"not a handshake line (want {EXAMPLE!r}): {line.strip()[:200]!r}")
    if parts[1] != VERSION:
        raise ValueError(f"handshake version {parts[1]!r}, this harness speaks {VERSION!r}")
    if parts[2] != "tcp" or parts[4] != "grpc":
        raise ValueError(f"handshake network/protocol {parts[2]}/{parts[4]}, want tcp/grpc")
    return parts[3]
