"""Instance URLs as a plugin may show them: never with a secret (a password, a token, a query
value), and never one that a client library would read differently from what is shown.

A plugin shows a URL with redacted(url) (or redact), redacts library error texts that may echo
it with redact_text(text), and refuses refusal(url) up front, before a client parses it:

    if (why := refusal(url)) is not None:
        raise invalid(f"bad Redis URL: {why}")
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

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


redacted = redact  # the name plugins have used


def bad_port(url: str) -> str | None:
    """Why the URL's port (of each host, for a list `h1:p1,h2:p2`) is no port, or None: checked
    before a client parses the URL, whose own message would not say so (a pool timing out)."""
    rest = url.split("://", 1)[-1]
    hosts = rest.split("/", 1)[0].split("?", 1)[0].rpartition("@")[2]
    for host in hosts.split(","):
        port = host.rsplit("]", 1)[-1].rpartition(":")[2] if ":" in host.rsplit("]", 1)[-1] else ""
        if port and not (port.isdigit() and 0 < int(port) < 65536):
            return f"port {port!r} of {redact(url)} is not a number from 1 to 65535"
    return None
