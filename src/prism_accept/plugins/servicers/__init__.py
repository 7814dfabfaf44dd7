"""Interface servicers: proto <-> store calls, request validation, status codes.

Each servicer class names the interface it serves; a plugin lists the ones it implements.
"""
