"""The harness: backend instances, plugin processes, and gRPC channels with deadlines."""
