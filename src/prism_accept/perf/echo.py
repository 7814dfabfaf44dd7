"""The floor: a bare gRPC echo server (no plugin, no backend) in a subprocess, and a closed-loop
client of it. What any plugin call costs at least on this machine (gRPC, loopback, Python).
`python -m prism_accept.perf.echo` serves until its stdin closes, printing `PORT <n>` first."""

from __future__ import annotations

import subprocess
import sys
from concurrent import futures
from contextlib import contextmanager
from typing import Iterator

import grpc

from prism_accept.harness.channel import open_channel
from prism_accept.harness.process import plugin_env
from prism_accept.perf.measure import Sample, closed_loop

METHOD = "/prism.perf.v1.Echo/Echo"


def serve() -> None:
    handler = grpc.method_handlers_generic_handler(
        "prism.perf.v1.Echo", {"Echo": grpc.unary_unary_rpc_method_handler(lambda request, context: request)}
    )
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(f"PORT {port}", flush=True)
    sys.stdin.read()  # until the parent closes our stdin
    server.stop(0)


@contextmanager
def echo_server(startup_timeout_s: float = 20.0) -> Iterator[tuple[subprocess.Popen, grpc.Channel]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "prism_accept.perf.echo"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=plugin_env(),
        start_new_session=True,
    )
    raw = None
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode()
        if not line.startswith("PORT "):
            raise RuntimeError(f"the echo server did not start (said {line!r})")
        raw, channel = open_channel(f"127.0.0.1:{int(line.split()[1])}")
        grpc.channel_ready_future(raw).result(timeout=startup_timeout_s)
        yield proc, channel
    finally:
        if raw is not None:
            raw.close()
        if proc.stdin:
            proc.stdin.close()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def echo_sample(channel: grpc.Channel, duration_s: float, payload: bytes = b"e" * 1024) -> Sample:
    call = channel.unary_unary(METHOD)
    return closed_loop(lambda: call(payload, timeout=5.0), duration_s)


if __name__ == "__main__":
    serve()
