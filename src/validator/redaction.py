"""Redaction: the one place that strips secrets from anything we write or show.

Everything that leaves the process (metrics.json, summary.json, report.html, log lines,
exception text) goes through `redact_text` or `redact_value` first. What is removed:

- credentials in URLs (`https://user:pass@host` -> `https://[redacted]@host`);
- `Authorization:` header values and `Bearer <token>` strings;
- query parameters and `key=value` / `"key": "value"` pairs whose key names a secret
  (token, password, secret, api key, ...);
- any literal secret value the caller knows about (e.g. a bearer token read from the
  environment), wherever it appears.

Pure string functions: no IO, importable from every layer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

REDACTED = "[redacted]"

# Keys whose values are secrets, wherever they appear (dict keys, query params, key=value text).
_SECRET_KEY = (
    r"(?:authorization|x-api-key|api[_-]?key|apikey|access[_-]?token|refresh[_-]?token|id[_-]?token|"
    r"bearer[_-]?token|auth[_-]?token|token|password|passwd|secret|client[_-]?secret|private[_-]?key)"
)
_SECRET_KEY_RE = re.compile(rf"^{_SECRET_KEY}$", re.IGNORECASE)

# scheme://userinfo@host  -> scheme://[redacted]@host
_URL_USERINFO_RE = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.\-]*://)(?P<userinfo>[^/\s@\"'<>]+)@")
# Authorization: Bearer abc / Authorization: Basic abc  (header text or repr of a headers dict)
_AUTH_HEADER_RE = re.compile(
    r"(?P<key>authorization['\"]?\s*[:=]\s*['\"]?)(?P<value>(?:(?:bearer|basic|token)\s+)?[^\s'\",}]+)",
    re.IGNORECASE,
)
_BEARER_RE = re.compile(r"(?P<key>\bbearer\s+)(?P<value>[A-Za-z0-9\-._~+/]+=*)", re.IGNORECASE)
# token=abc, password: abc, "secret": "abc", ?access_token=abc&
_KEY_VALUE_RE = re.compile(
    rf"(?P<key>\b{_SECRET_KEY}['\"]?\s*(?:=|:)\s*['\"]?)(?P<value>[^\s&'\",;}}]+)",
    re.IGNORECASE,
)


def is_secret_key(key: str) -> bool:
    """True if a mapping key or parameter name holds a secret (e.g. `Authorization`, `api_key`)."""
    return bool(_SECRET_KEY_RE.match(key.strip()))


def redact_url(url: str) -> str:
    """The URL without user info and with secret query parameters blanked; other URLs unchanged."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact_text(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{REDACTED}@{netloc.rsplit('@', 1)[1]}"
    query = _KEY_VALUE_RE.sub(lambda m: m.group("key") + REDACTED, parts.query)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def strip_url_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    """Split `https://user:pass@host/path` into (`https://host/path`, ("user", "pass")).

    The credentials go to the HTTP client as an auth tuple, so the URL we keep, log and
    write never carries them.
    """
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None
    userinfo, host = parts.netloc.rsplit("@", 1)
    user, _, password = userinfo.partition(":")
    clean = urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    return clean, (unquote(user), unquote(password))


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with URL credentials, Authorization values, bearer tokens and secret key=value pairs removed.

    `secrets` are literal values known to be secret (e.g. a token read from the environment);
    each is replaced wherever it occurs, however the surrounding text looks.
    """
    out = text
    for secret in secrets:
        if secret and len(secret) >= 4:
            out = out.replace(secret, REDACTED)
    out = _URL_USERINFO_RE.sub(lambda m: f"{m.group('scheme')}{REDACTED}@", out)
    out = _AUTH_HEADER_RE.sub(lambda m: m.group("key") + REDACTED, out)
    out = _BEARER_RE.sub(lambda m: m.group("key") + REDACTED, out)
    out = _KEY_VALUE_RE.sub(lambda m: m.group("key") + REDACTED, out)
    return out


def redact_value(value: Any, secrets: Iterable[str] = ()) -> Any:
    """A copy of a JSON-like value (dicts, lists, strings, numbers) with every secret redacted.

    Values under secret-named keys are replaced whole; every string is passed through
    `redact_text`. Non-string scalars are returned as they are.
    """
    known = tuple(secrets)
    if isinstance(value, str):
        return redact_text(value, known)
    if isinstance(value, Mapping):
        return {
            k: (REDACTED if isinstance(k, str) and is_secret_key(k) and v not in (None, "") else
                redact_value(v, known))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact_value(v, known) for v in value]
    return value
