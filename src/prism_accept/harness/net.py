"""Reachability probes and URL redaction. Dependency-free and Python 3.9-compatible: the Pants
plugin (build-support/pants-plugins/prism_cells/instance_probe.py) runs them too (the whole
source of this module is its probe script)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import struct
from urllib.parse import urlsplit

DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"


def host_port(url: str) -> tuple[str, int] | None:
    """The (host, port) a URL names, or None when it names no port or is refused (refusal():
    its parser's host could be part of a password)."""
    if refusal(url) is not None:
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname or not port:
        return None
    return parts.hostname, port


# --- Redaction by pattern, before any parsing. This block is identical in
# src/prism_accept/harness/net.py and plugins/prism_plugin/urls.py (the framework and the SDK
# import nothing of each other); tests/unit/test_redaction.py holds both to one table of URL forms.
#
# A URL's user info is everything between `//` and the LAST `@`, whatever it holds (a password
# with an unencoded `#`, `/`, `?` or `@`, a token with no `:` at all, a user name that is a
# token): all of it becomes ***. So does every query value (`?password=`, `?sslpassword=`...;
# the keys stay) and the fragment. A URL whose parser sees its user info elsewhere than the
# pattern (an unencoded `/ ? # @` in it) is refused (refusal()): a client would read it
# differently from what is shown.

REDACTED = "***"
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
# A URL in free text: a scheme and `//`, up to a space or a quote.
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>`]*")
# What text redaction cannot find the end of, so a URL's user info must not hold it.
_UNSAFE_IN_USERINFO = re.compile(r"[\s'\"<>`]")


def _pattern_parts(url: str) -> tuple[str, str | None, str, str | None, str | None]:
    """(`scheme://`, user info, host and path, query, fragment) by pattern alone; a part that is
    absent is None. Without `scheme://`, the authority starts at the beginning."""
    m = _SCHEME.match(url)
    head, rest = (url[: m.end()], url[m.end() :]) if m else ("", url)
    userinfo, at, rest = rest.rpartition("@")
    rest, hash_, fragment = rest.partition("#")
    rest, mark, query = rest.partition("?")
    return head, userinfo if at else None, rest, query if mark else None, fragment if hash_ else None


def _redact_query_item(item: str) -> str:
    key, eq, _ = item.partition("=")
    return f"{key}={REDACTED}" if eq else (REDACTED if item else "")


def redact(url: str) -> str:
    """The URL without its secrets: user info, query values and fragment replaced by ***.
    Never raises (a traceback would print its argument)."""
    head, userinfo, rest, query, fragment = _pattern_parts(url or "")
    shown = head + (f"{REDACTED}@" if userinfo is not None else "") + rest
    if query is not None:
        shown += "?" + "&".join(_redact_query_item(item) for item in query.split("&"))
    if fragment is not None:
        shown += f"#{REDACTED}" if fragment else "#"
    return shown


def redact_text(text: str) -> str:
    """Free text (a message, a traceback, a report) with every URL in it redacted."""
    return _URL_IN_TEXT.sub(lambda m: redact(m[0]), text or "")


def has_secret(url: str) -> bool:
    """Whether the URL has anything redact() hides (user info, a query, a fragment)."""
    return redact(url) != url


def refusal(url: str) -> str | None:
    """Why the URL must not be used, showing it redacted; None when it is fine. Refused: user
    info that a URL parser reads differently from the pattern (an unencoded `/`, `?`, `#` or `@`
    in a password; an `@` in the path or query), that holds a space or quote, or that does not
    parse."""
    head, userinfo, rest, _, _ = _pattern_parts(url)
    if userinfo is None:
        return None
    advice = (
        "percent-encode `/ ? # @`, spaces and quotes in the user name and password (%2F %3F %23 %40 %20 ...), "
        "and `@` anywhere else (%40)"
    )
    if _UNSAFE_IN_USERINFO.search(userinfo):
        return f"{redact(url)} has a space or quote in its user info: {advice}"
    try:
        netloc = urlsplit(url).netloc
    except ValueError:
        return f"{redact(url)} does not parse as a URL: {advice}"
    host = re.split(r"[/?#]", rest, maxsplit=1)[0]
    if not head or netloc != f"{userinfo}@{host}":
        return f"{redact(url)} is ambiguous: its user info ends at its last `@`, a URL parser ends it earlier; {advice}"
    return None


# --- end of the shared block


def reachable(url: str, timeout_s: float = 0.5) -> bool:
    """Whether something accepts TCP connections at the URL's host and port."""
    address = host_port(url)
    if address is None:
        return False
    try:
        with socket.create_connection(address, timeout=timeout_s):
            return True
    except OSError:
        return False


def docker_available(timeout_s: float = 0.5) -> bool:
    """Whether a Docker engine answers on $DOCKER_HOST (default: the local socket)."""
    host = os.environ.get("DOCKER_HOST", DEFAULT_DOCKER_HOST)
    if host.startswith("unix://"):
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(timeout_s)
        try:
            s.connect(host[len("unix://") :])
            return True
        except OSError:
            return False
        finally:
            s.close()
    if host.startswith("tcp://"):
        return reachable(host, timeout_s)
    return False


def docker_image_id(image: str, timeout_s: float = 0.5) -> str | None:
    """The id of `image` on the Docker engine at $DOCKER_HOST (a unix socket), or None: not
    there, or no engine. The probe puts it into a container cell's cache key, so a rebuilt
    image reruns the cells."""
    import http.client
    from urllib.parse import quote

    host = os.environ.get("DOCKER_HOST", DEFAULT_DOCKER_HOST)
    if not host.startswith("unix://"):
        return None
    sock = socket.socket(socket.AF_UNIX)
    sock.settimeout(timeout_s)
    try:
        sock.connect(host[len("unix://") :])
        conn = http.client.HTTPConnection("docker", timeout=timeout_s)
        conn.sock = sock
        conn.request("GET", f"/images/{quote(image, safe='')}/json")
        answer = conn.getresponse()
        return json.loads(answer.read()).get("Id") if answer.status == 200 else None
    except (OSError, ValueError, http.client.HTTPException):
        return None
    finally:
        sock.close()


# --- What a server says it is, read from the start of its protocol, without logging in. The
# probe puts it into every cell's cache key, so upgrading (or swapping) the server behind the same
# port reruns the cells instead of reusing their results.

IDENTITY_SCHEMES = {
    "redis": "redis",
    "rediss": "redis",
    "nats": "nats",
    "amqp": "amqp",
    "postgresql": "postgresql",
    "postgres": "postgresql",
    "mysql": "mysql",
    "mariadb": "mysql",
}
_VERSION_FIELD = re.compile(r"^(server_name|[a-z]+_version|redis_build_id):(.*)$")


def _read_until(sock: socket.socket, done, limit: int = 65536) -> bytes:
    data = b""
    while not done(data) and len(data) < limit:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def _redis_identity(sock: socket.socket) -> str:
    sock.sendall(b"INFO server\r\n")

    def whole(data: bytes) -> bool:
        head, sep, rest = data.partition(b"\r\n")
        return bool(sep) and (not head.startswith(b"$") or len(rest) >= int(head[1:] or 0) + 2)

    head, _, body = _read_until(sock, whole).partition(b"\r\n")
    if not head.startswith(b"$"):
        return "redis protocol: " + head.decode(errors="replace")[:200]  # e.g. -NOAUTH: a fact too
    fields = [m.group(1) + "=" + m.group(2).strip() for m in map(_VERSION_FIELD.match, body.decode(errors="replace").splitlines()) if m]
    return ", ".join(f for f in fields if not f.startswith("gcc_version"))


def _nats_identity(sock: socket.socket) -> str:
    line = _read_until(sock, lambda d: b"\r\n" in d).partition(b"\r\n")[0]
    if not line.startswith(b"INFO "):
        return "nats protocol: " + line.decode(errors="replace")[:200]
    info = json.loads(line[5:])
    return json.dumps({k: info.get(k) for k in ("version", "go", "proto", "jetstream", "headers")}, sort_keys=True)


def _amqp_identity(sock: socket.socket) -> str:
    """A digest of Connection.Start: the server's properties (product, version, platform,
    capabilities...), mechanisms and locales; nothing in it changes between connections."""
    sock.sendall(b"AMQP\x00\x00\x09\x01")
    header = _read_until(sock, lambda d: len(d) >= 7)
    if len(header) < 7 or header[0] != 1:
        return "amqp protocol: " + header[:40].hex()
    size = struct.unpack(">I", header[3:7])[0]
    frame = header[7:] + _read_until(sock, lambda d: len(header) - 7 + len(d) >= size + 1, limit=size + 8)
    return "Connection.Start sha256:" + hashlib.sha256(frame[:size]).hexdigest()[:16]


def _postgresql_identity(sock: socket.socket, user: str, database: str) -> str:
    """The parameter statuses a server sends once it has let a user in (server_version among
    them); a server that wants a password says so, which is all that is learnt of it."""
    body = b"".join(k.encode() + b"\0" + v.encode() + b"\0" for k, v in (("user", user), ("database", database))) + b"\0"
    sock.sendall(struct.pack(">II", 8 + len(body), 196608) + body)
    data, statuses = b"", []

    def whole(d: bytes) -> bool:
        return len(d) >= 5 and len(d) >= 1 + struct.unpack(">I", d[1:5])[0]

    while True:
        if not whole(data):
            data += _read_until(sock, lambda fresh: whole(data + fresh))
        if len(data) < 5:
            return "postgresql protocol: no answer"
        kind, size = data[:1], struct.unpack(">I", data[1:5])[0]
        if len(data) < 1 + size:
            return "postgresql protocol: cut short"
        payload, data = data[5 : 1 + size], data[1 + size :]
        if kind == b"R" and payload[:4] != b"\0\0\0\0":
            return "postgresql: wants authentication"
        if kind == b"E":
            return "postgresql error: " + ", ".join(p[1:].decode(errors="replace") for p in payload.split(b"\0") if p[:1] in (b"C", b"V"))
        if kind == b"S":
            name, _, value = payload[:-1].partition(b"\0")
            if name in (b"server_version", b"server_encoding", b"integer_datetimes"):
                statuses.append(f"{name.decode()}={value.decode(errors='replace')}")
        if kind == b"Z":
            return ", ".join(sorted(statuses))


def _mysql_identity(sock: socket.socket) -> str:
    """The protocol version and server version of the MySQL handshake (Initial Handshake
    Packet: 3-byte length, sequence id, protocol version, NUL-terminated server version); the
    connection id and salt after them change per connection, so they are left out."""
    header = _read_until(sock, lambda d: len(d) >= 4)
    if len(header) < 4:
        return "mysql protocol: no answer"
    size = int.from_bytes(header[:3], "little")
    payload = (header[4:] + _read_until(sock, lambda d: len(header) - 4 + len(d) >= size, limit=size + 4))[:size]
    if payload[:1] == b"\xff":  # an error packet (too many connections, host not allowed)
        return "mysql error: " + payload[3:].decode(errors="replace")[:200]
    version = payload[1:].partition(b"\0")[0].decode(errors="replace")
    return f"protocol={payload[0] if payload else '?'}, server_version={version}"


def server_identity(url: str, timeout_s: float = 0.5) -> str | None:
    """What the server at `url` says it is (Redis INFO server, the NATS INFO line, AMQP's
    Connection.Start, PostgreSQL's parameter statuses, the MySQL handshake), or None: another
    scheme, or no answer.
    Sends no password: it learns only what a server tells before or without one."""
    protocol = IDENTITY_SCHEMES.get(url.split("://", 1)[0].lower())
    address = host_port(url)
    if protocol is None or address is None:
        return None
    try:
        with socket.create_connection(address, timeout=timeout_s) as sock:
            sock.settimeout(timeout_s)
            if protocol == "redis":
                return _redis_identity(sock)
            if protocol == "nats":
                return _nats_identity(sock)
            if protocol == "amqp":
                return _amqp_identity(sock)
            if protocol == "mysql":
                return _mysql_identity(sock)
            parts = urlsplit(url)
            user = parts.username if parts.username and not has_secret(url) else "postgres"
            return _postgresql_identity(sock, user, parts.path.lstrip("/") or user)
    except (OSError, ValueError, struct.error):
        return None


class Redacted(dict):
    """A dict whose repr redacts every URL-like value: what a traceback prints of it (pytest
    shows a failing frame's arguments) holds no password."""

    def __repr__(self) -> str:
        return repr({k: _redact_value(v) for k, v in self.items()})

    __str__ = __repr__


def _redact_value(value: object) -> object:
    """A URL (redacted whole), or text with URLs in it."""
    if not isinstance(value, str) or "://" not in value:
        return value
    return redact(value) if _SCHEME.match(value) else redact_text(value)
