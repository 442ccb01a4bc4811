"""The one place that removes secrets from text: every message, URL and JSON value agorschema
prints passes through `redact_secrets`, so a password never reaches a terminal or a log.

It is deliberately generous: a URL that does not parse still has its `user:password@` part
hidden, and `password=...` is hidden in query strings and libpq conninfo strings alike.
"""

from __future__ import annotations

import re

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (app start-up)
if TYPE_CHECKING:
    from typing import Any

MASK = "***"

# The patterns are strings: `re` compiles each on first use and caches it, so a process whose
# output holds no '@' or '=' (an app start-up, a SQLite URL) never pays for compiling them.
# A URL with a scheme: the user-info is everything before the LAST '@' of the token (up to
# whitespace or a quote), so a password that itself holds '@', ':' or '/' is hidden whole.
_URL = r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*:/+)(?P<rest>[^\s'\"`]*)"
# Malformed or scheme-less forms such as "user:pw@host/db" or "postgresql:user:pw@host".
_BARE = r"(?P<lead>^|[\s'\"`(=])(?P<user>[^\s:/@'\"`(]+):(?!/)(?P<password>[^\s'\"`]*)@"
# password=secret / password = 'se cret' / PASSWORD=x&... (query strings, conninfo, DSNs)
_KEYWORD = (
    r"(?i)(?P<key>\b(?:password|passwd|pwd|sslpassword)\s*=\s*)"
    r"(?P<value>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|[^\s&;'\"`]+)"
)
# A query parameter whose name is percent-encoded: libpq decodes names too, so
# `?%70assword=secret` and `?pass%77ord=secret` set the password.
_ENCODED_PARAM = (r"(?P<key>[?&](?P<name>[^=&#\s'\"`]*%[^=&#\s'\"`]*)=)"
                  r"(?P<value>[^&#\s'\"`]*)")
_SECRET_NAMES = frozenset({"password", "passwd", "pwd", "sslpassword"})


# Passwords of the URLs this process was given (see `remember_secrets`): masked wherever they
# appear, whatever the surrounding text looks like (a quote or a space in the password, a
# driver that echoes it in its own error message). Shorter ones are left to the patterns:
# masking every "ab" of every message would garble it.
_KNOWN: set[str] = set()
_KNOWN_MIN = 4
_USERINFO = r"[A-Za-z][A-Za-z0-9+.-]*:/+(?P<auth>[^/?#]*(?:[/?#][^@]*)?)@"


def remember_secrets(url: str) -> None:
    """Note the password(s) in `url` (URL user-info, `password=` parameters, percent-encoded
    or not) so that no later output shows them, even where the patterns would miss them."""
    from urllib.parse import unquote

    if not isinstance(url, str) or ("@" not in url and "=" not in url):
        return
    found = []
    match = re.match(_USERINFO, url.strip())
    if match and ":" in match.group("auth"):
        found.append(match.group("auth").split(":", 1)[1])
    for kw in re.finditer(_KEYWORD, url):
        found.append(kw.group("value").strip("'\""))
    found += [m.group("value") for m in re.finditer(_ENCODED_PARAM, url) if _secret_name(m)]
    for secret in found:
        for form in (secret, unquote(secret)):
            if len(form) >= _KNOWN_MIN:
                _KNOWN.add(form)


def redact_secrets(text: str) -> str:
    """`text` with every password (URL user-info, `password=` parameters) replaced by ***."""
    for secret in sorted(_KNOWN, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    if "=" not in text and ("@" not in text or ":" not in text):
        return text  # every pattern below needs '=', or a ':' and an '@'
    text = re.sub(_URL, _mask_url, text)
    text = re.sub(_BARE, lambda m: f"{m.group('lead')}{m.group('user')}:{MASK}@", text)
    if "%" in text:
        text = re.sub(_ENCODED_PARAM, lambda m: m.group("key") + MASK if _secret_name(m)
                      else m.group(0), text)
    return re.sub(_KEYWORD, lambda m: m.group("key") + MASK, text)


def _secret_name(match: re.Match[str]) -> bool:
    from urllib.parse import unquote

    return unquote(match.group("name")).lower() in _SECRET_NAMES


def _mask_url(match: re.Match[str]) -> str:
    rest = match.group("rest")
    at = rest.rfind("@")
    if at < 0 or ":" not in rest[:at]:
        return match.group(0)
    user = rest[: rest.index(":")]
    return f"{match.group('scheme')}{user}:{MASK}{rest[at:]}"


def redact(url: str) -> str:
    """A database URL safe to print: its password (in user-info or query) becomes ***."""
    remember_secrets(url)
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
