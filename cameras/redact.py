"""URLs fit for a log or a screen, without loading the video stack (PyAV) to say so."""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit, urlunsplit


def redact(url: str) -> str:
    """`url` fit for a log or a screen: no user:password, no secret in the query or path.

    Cameras put credentials in more places than the user info: ``?user=admin&password=…``,
    ``?token=…``, or path parameters (``/user=admin_password=…_channel=1.sdp``). Every
    value whose name looks like a credential becomes ``***``; the rest stays readable.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable URL>"
    host = parts.netloc.rpartition("@")[2]
    path = _PATH_SECRET.sub(r"\1=***", parts.path)
    query = "&".join(_redact_pair(p) for p in parts.query.split("&")) if parts.query else ""
    return urlunsplit((parts.scheme, host, path, query, ""))


_SECRET_NAME = (
    r"[a-z0-9_.-]*(?:pass|pwd|psw|token|secret|auth|key|sig|session|cred|user|usr|login)"
    r"[a-z0-9_.-]*|u|p|pw"
)
_PATH_SECRET = re.compile(rf"(?i)(?<![a-z0-9])({_SECRET_NAME})=.*?(?=_[a-z][a-z0-9]*=|[&;/?]|$)")


def _redact_pair(pair: str) -> str:
    name, sep, _ = pair.partition("=")
    if sep and re.fullmatch(_SECRET_NAME, unquote(name), flags=re.IGNORECASE):
        return f"{name}=***"
    return pair
