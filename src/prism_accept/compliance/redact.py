"""Remove passwords from URLs before any text reaches output, a report or a cache key.

Instance URLs may carry credentials (`redis://:pw@host`, `postgres://user:pw@host/db`); the
user name stays (it helps to know who connected), the password becomes `***`.
"""

from __future__ import annotations

import re

# scheme://[user]:password@  ->  scheme://[user]:***@
_USERINFO_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^:/@\s]*):(?P<password>[^@/\s]*)@")


def redact(text: str) -> str:
    return _USERINFO_PASSWORD.sub(lambda m: f"{m['head']}:***@" if m["password"] else m[0], text or "")
