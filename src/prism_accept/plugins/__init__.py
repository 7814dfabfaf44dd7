"""Backend plugins: gRPC servers that implement interfaces over a backend instance."""
