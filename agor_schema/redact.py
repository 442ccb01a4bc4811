"""The one place that removes secrets from text: every message, URL and JSON value agorschema
prints passes through `redact_secrets`, so a password never reaches a terminal or a log.

It is deliberately generous: a URL that does not parse still has its `user:password@` part
hidden, and `password=...` is hidden in query strings and libpq conninfo strings alike.
"""

from __future__ import annotations

import re
from typing import Any

MASK = "***"

# A URL with a scheme: the user-info is everything before the LAST '@' of the token (up to
# whitespace or a quote), so a password that itself holds '@', ':' or '/' is hidden whole.
_URL = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*:/+)(?P<rest>[^\s'\"`]*)")
# Malformed or scheme-less forms such as "user:pw@host/db" or "postgresql:user:pw@host".
_BARE = re.compile(r"(?P<lead>^|[\s'\"`(=])(?P<user>[^\s:/@'\"`(]+):(?!/)(?P<password>[^\s'\"`]*)@")
# password=secret / password = 'se cret' / PASSWORD=x&... (query strings, conninfo, DSNs)
_KEYWORD = re.compile(
    r"(?P<key>\b(?:password|passwd|pwd|sslpassword)\s*=\s*)"
    r"(?P<value>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|[^\s&;'\"`]+)",
    re.IGNORECASE,
)


def redact_secrets(text: str) -> str:
    """`text` with every password (URL user-info, `password=` parameters) replaced by ***."""
    if ":" not in text and "=" not in text:
        return text
    text = _URL.sub(_mask_url, text)
    text = _BARE.sub(lambda m: f"{m.group('lead')}{m.group('user')}:{MASK}@", text)
    return _KEYWORD.sub(lambda m: m.group("key") + MASK, text)


def _mask_url(match: re.Match[str]) -> str:
    rest = match.group("rest")
    at = rest.rfind("@")
    if at < 0 or ":" not in rest[:at]:
        return match.group(0)
    user = rest[: rest.index(":")]
    return f"{match.group('scheme')}{user}:{MASK}{rest[at:]}"


def redact(url: str) -> str:
    """A database URL safe to print: its password (in user-info or query) becomes ***."""
    return redact_secrets(url)


def redact_value(value: Any) -> Any:
    """`value` (JSON data: dicts, lists, strings, numbers) with secrets removed from strings."""
    if isinstance(value, str):
        return redact_secrets(value)
    if isinstance(value, dict):
        return {key: redact_value(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_value(item) for item in value]
    return value
