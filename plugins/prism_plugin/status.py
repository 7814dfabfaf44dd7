"""Errors a plugin raises as gRPC statuses. Messages are bounded: a status never echoes a
whole key or value back, whatever the request held."""

from __future__ import annotations

import grpc

MAX_MESSAGE_CHARS = 512
MAX_SHOWN_NAME_CHARS = 80


def shown(name: str | bytes) -> str:
    """A name as a status message may quote it: repr, cut to a bounded length."""
    text = repr(name)
    return text if len(text) <= MAX_SHOWN_NAME_CHARS else f"{text[:MAX_SHOWN_NAME_CHARS]}...({len(name)} chars)"


class StatusError(Exception):
    """Raised by servicers and stores; the runtime turns it into the gRPC status `code`."""

    def __init__(self, code: grpc.StatusCode, message: str):
        message = message if len(message) <= MAX_MESSAGE_CHARS else message[:MAX_MESSAGE_CHARS] + "..."
        super().__init__(message)
        self.code = code
        self.message = message


def invalid(message: str) -> StatusError:
    return StatusError(grpc.StatusCode.INVALID_ARGUMENT, message)


def not_found(message: str) -> StatusError:
    return StatusError(grpc.StatusCode.NOT_FOUND, message)


def out_of_range(message: str) -> StatusError:
    return StatusError(grpc.StatusCode.OUT_OF_RANGE, message)


def already_exists(message: str) -> StatusError:
    return StatusError(grpc.StatusCode.ALREADY_EXISTS, message)


def failed_precondition(message: str) -> StatusError:
    return StatusError(grpc.StatusCode.FAILED_PRECONDITION, message)


def aborted(message: str) -> StatusError:
    return StatusError(grpc.StatusCode.ABORTED, message)


def unavailable(message: str) -> StatusError:
    return StatusError(grpc.StatusCode.UNAVAILABLE, message)


def resource_exhausted(message: str) -> StatusError:
    return StatusError(grpc.StatusCode.RESOURCE_EXHAUSTED, message)
