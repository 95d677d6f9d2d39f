"""Ask an RFC 3161 time-stamping authority (TSA) for a token over some bytes, and check it.

One request is one HTTP POST of a DER `TimeStampReq` (SHA-256 imprint, a fresh random nonce,
the TSA's certificate requested) as `application/timestamp-query`; the answer must be an
`application/timestamp-reply` that `segments.timestamp.accept_reply` accepts: granted, over
our hash, with our nonce, signed by a TSA certificate (critical EKU timeStamping) that chains
to the configured CA, under the configured policy if one is set. Anything else is refused
before the token is kept, so a misrouted, replayed or forged reply never reaches the evidence.

Errors are split by what the caller should do: `TsaUnavailable` (network, timeouts, 5xx:
the TSA is offline, pause and retry) and `TsaReplyRefused` (it answered wrongly: back this
request off and report it).
"""

from __future__ import annotations

import http.client
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass

from rfc3161_client import HashAlgorithm, TimestampRequestBuilder

from segments.timestamp import Stamp, TimestampError, accept_reply

from .errors import TsaReplyRefused, TsaUnavailable
from .settings import TsaSettings

QUERY_TYPE = "application/timestamp-query"
REPLY_TYPE = "application/timestamp-reply"
MAX_REPLY = 256 * 1024  # a token with a long chain is a few KiB; more is not a TSA reply


@dataclass(frozen=True)
class Timestamped:
    """An accepted token: the TSA's whole DER reply, and what it states."""

    token: bytes
    stamp: Stamp


class TsaClient:
    def __init__(self, settings: TsaSettings) -> None:
        self.settings = settings
        self._tls = (
            ssl.create_default_context(cafile=str(settings.ca_file))
            if settings.url.startswith("https:")
            else None
        )

    def timestamp(self, message: bytes) -> Timestamped:
        """A checked token over SHA-256(`message`); TsaUnavailable or TsaReplyRefused."""
        request = (
            TimestampRequestBuilder()
            .data(message)
            .hash_algorithm(HashAlgorithm.SHA256)
            .nonce(nonce=True)
            .cert_request(cert_request=True)
            .build()
        )
        nonce = request.nonce
        assert nonce is not None, "the request builder always adds a nonce when asked"
        reply = self._post(request.as_bytes())
        try:
            stamp = accept_reply(reply, message, nonce, self.settings.anchors, self.settings.policy)
        except TimestampError as e:
            raise TsaReplyRefused(f"TSA {self.settings.url}: reply refused: {e}") from e
        return Timestamped(reply, stamp)

    def _post(self, query: bytes) -> bytes:
        url = self.settings.url
        req = urllib.request.Request(
            url, data=query, method="POST", headers={"Content-Type": QUERY_TYPE}
        )
        try:
            with urllib.request.urlopen(
                req, timeout=self.settings.timeout_s, context=self._tls
            ) as answer:
                kind = answer.headers.get_content_type()
                body = answer.read(MAX_REPLY + 1)
        except urllib.error.HTTPError as e:
            if e.code >= 500:
                raise TsaUnavailable(f"TSA {url} answered HTTP {e.code}; retrying later") from e
            raise TsaReplyRefused(
                f"TSA {url} answered HTTP {e.code} {e.reason}: check [tsa] url"
            ) from e
        except (urllib.error.URLError, http.client.HTTPException, OSError) as e:
            reason = getattr(e, "reason", e)
            hint = "check [tsa] ca_file and url" if isinstance(reason, ssl.SSLError) else ""
            raise TsaUnavailable(
                f"TSA {url} unreachable: {reason}; retrying later{'; ' if hint else ''}{hint}"
            ) from e
        if kind != REPLY_TYPE:
            raise TsaReplyRefused(f"TSA {url} answered {kind!r}, not {REPLY_TYPE}: check [tsa] url")
        if len(body) > MAX_REPLY:
            raise TsaReplyRefused(f"TSA {url} answered over {MAX_REPLY} bytes: not a TSA reply")
        return body
