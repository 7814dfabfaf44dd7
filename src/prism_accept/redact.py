"""Remove secrets from text before it reaches output, a report or a cache key.

Every URL in the text is redacted by pattern (prism_accept.harness.net.redact): its user info
(everything between `//` and the last `@`: a password, a token, a user name that may be one),
its query values and its fragment become `***`.
"""

from __future__ import annotations

from prism_accept.harness.net import redact_text


def redact(text: str) -> str:
    return redact_text(text)
