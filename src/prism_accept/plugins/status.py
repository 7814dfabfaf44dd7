"""Errors a plugin raises as gRPC statuses, and the request checks every interface shares."""

from __future__ import annotations

import grpc


class StatusError(Exception):
    """Raised by servicers and stores; the runtime turns it into the gRPC status `code`."""

    def __init__(self, code: grpc.StatusCode, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def invalid(message: str) -> StatusError:
    return StatusError(grpc.StatusCode.INVALID_ARGUMENT, message)


def not_found(message: str) -> StatusError:
    return StatusError(grpc.StatusCode.NOT_FOUND, message)


def out_of_range(message: str) -> StatusError:
    return StatusError(grpc.StatusCode.OUT_OF_RANGE, message)


def failed_precondition(message: str) -> StatusError:
    return StatusError(grpc.StatusCode.FAILED_PRECONDITION, message)


def aborted(message: str) -> StatusError:
    return StatusError(grpc.StatusCode.ABORTED, message)


def require_names(**names: str) -> None:
    """Every named field (namespace, key, ...) must be a non-empty string."""
    for field, value in names.items():
        if not value:
            raise invalid(f"{field} must be a non-empty string")


def require_keys(field: str, values) -> None:
    for i, value in enumerate(values):
        if not value:
            raise invalid(f"{field}[{i}] must be a non-empty string")
