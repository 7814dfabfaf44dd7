"""What a Kafka-protocol broker says of itself: an ApiVersions (v0) request over a plain socket.

The protocol names no product and no release, only the API versions a broker serves; the
plugin reports those (with DescribeCluster's answer) as the server version, so a report never
claims a broker is Apache Kafka. confluent-kafka does not expose the ApiVersions answer.
"""

from __future__ import annotations

import asyncio
import struct

API_VERSIONS, PRODUCE, FETCH = 18, 0, 1
CORRELATION_ID = 1
CLIENT_ID = b"prism-kafka"


def request() -> bytes:
    body = struct.pack(">hhih", API_VERSIONS, 0, CORRELATION_ID, len(CLIENT_ID)) + CLIENT_ID
    return struct.pack(">i", len(body)) + body


def parse(response: bytes) -> dict[int, tuple[int, int]]:
    """api key -> (min, max) version, from an ApiVersions v0 response body (after its size)."""
    correlation, error, count = struct.unpack_from(">ihi", response, 0)
    if correlation != CORRELATION_ID or error != 0:
        raise ValueError(f"ApiVersions answered correlation id {correlation}, error code {error}")
    versions = {}
    for i in range(count):
        key, low, high = struct.unpack_from(">hhh", response, 10 + 6 * i)
        versions[key] = (low, high)
    return versions


async def api_versions(host: str, port: int, timeout_s: float) -> dict[int, tuple[int, int]]:
    async def ask() -> dict[int, tuple[int, int]]:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            writer.write(request())
            await writer.drain()
            (size,) = struct.unpack(">i", await reader.readexactly(4))
            return parse(await reader.readexactly(size))
        finally:
            writer.close()

    return await asyncio.wait_for(ask(), timeout_s)


def describe(versions: dict[int, tuple[int, int]]) -> str:
    produce, fetch = versions.get(PRODUCE, (0, -1))[1], versions.get(FETCH, (0, -1))[1]
    return f"{len(versions)} APIs, Produce up to v{produce}, Fetch up to v{fetch}"
