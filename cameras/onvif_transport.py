"""The HTTP side of ONVIF queries: replies capped in size, https verified, the peer's certificate.

An ``https://`` ONVIF service proves itself by one of (per camera): a pinned SHA-256 of its
certificate, a CA file that issued it, or the system's CAs. Certificates are never accepted
unchecked. `peer_certificate` checks the service by that rule before any credential is sent
and returns its certificate's fingerprint, so the resolver can record a camera that answers
with a new one.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import ssl
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
from onvif.client import AsyncTransportProtocolErrorHandler

from .errors import CameraError

MAX_REPLY = 1024 * 1024
_HEX64 = re.compile(r"[0-9a-f]{64}")


class ReplyTooLargeError(CameraError):
    """An ONVIF reply was larger than `MAX_REPLY`."""


def normalise_fingerprint(text: str) -> str:
    """``AB:CD:…`` or ``abcd…`` → 64 lowercase hex digits; ValueError for anything else."""
    hexed = text.strip().lower().replace(":", "")
    if not _HEX64.fullmatch(hexed):
        raise ValueError("a SHA-256 fingerprint is 64 hex digits (colons allowed)")
    return hexed


def fingerprint_of(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest()


@dataclass(frozen=True)
class OnvifTls:
    """How an https ONVIF service is verified: `cert_sha256` pins, else `ca_file`, else the
    system's CAs."""

    ca_file: Path | None = None
    cert_sha256: str | None = None

    def request_ssl(self) -> ssl.SSLContext | aiohttp.Fingerprint:
        if self.cert_sha256:
            return aiohttp.Fingerprint(bytes.fromhex(normalise_fingerprint(self.cert_sha256)))
        return ssl.create_default_context(
            cafile=None if self.ca_file is None else str(self.ca_file)
        )

    def describe(self) -> str:
        if self.cert_sha256:
            return f"the pinned certificate SHA-256 {normalise_fingerprint(self.cert_sha256)}"
        return f"CA file {self.ca_file}" if self.ca_file else "the system's CA certificates"


class CappedTransport(AsyncTransportProtocolErrorHandler):
    """onvif's aiohttp transport with a cap on the reply size and verified https.

    The reply is read until the cap or its end, whatever its framing (a chunked reply comes
    in pieces: one `read(n)` returns only the first).
    """

    def __init__(self, session: aiohttp.ClientSession, tls: OnvifTls) -> None:
        super().__init__(session=session, verify_ssl=True, cache=None)
        self.tls = tls

    async def _post_internal(
        self, address: str, message: str | bytes, headers: dict[str, str]
    ) -> tuple[aiohttp.ClientResponse, bytes]:
        data = message.encode() if isinstance(message, str) else message
        headers = {"Content-Type": 'application/soap+xml; charset="utf-8"', **(headers or {})}
        secure = address.lower().startswith("https:")
        ssl_param = self.tls.request_ssl() if secure else None
        if ssl_param is None:
            response = await self.session.post(address, data=data, headers=headers)
        else:
            response = await self.session.post(address, data=data, headers=headers, ssl=ssl_param)
        if (response.content_length or 0) > MAX_REPLY:
            response.close()
            raise ReplyTooLargeError(
                f"reply of {response.content_length} bytes exceeds {MAX_REPLY}"
            )
        content = await read_capped(response.content, MAX_REPLY)
        if content is None:
            response.close()
            raise ReplyTooLargeError(f"reply exceeds {MAX_REPLY} bytes")
        return response, content


async def read_capped(stream: aiohttp.StreamReader, cap: int) -> bytes | None:
    """The whole body, or None when it is longer than `cap` (read stops at cap + 1 bytes)."""
    content = bytearray()
    while len(content) <= cap:
        chunk = await stream.read(cap + 1 - len(content))
        if not chunk:
            return bytes(content)
        content += chunk
    return None


async def peer_certificate(url: str, tls: OnvifTls) -> str:
    """Check an https service's certificate by `tls` in a handshake of its own, before any
    credential is sent; its SHA-256. Raises `ssl.SSLCertVerificationError` (not trusted) or
    `aiohttp.ServerFingerprintMismatch` (not the pinned one)."""
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or 443
    check = tls.request_ssl()
    context = check if isinstance(check, ssl.SSLContext) else _unverified()
    _, writer = await asyncio.open_connection(host, port, ssl=context, server_hostname=host)
    try:
        ssl_object = writer.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
    finally:
        writer.close()
    if not der:
        raise ssl.SSLError(f"{host}:{port} presented no certificate")
    got = fingerprint_of(der)
    if isinstance(check, aiohttp.Fingerprint) and check.fingerprint.hex() != got:
        raise aiohttp.ServerFingerprintMismatch(check.fingerprint, bytes.fromhex(got), host, port)
    return got


def _unverified() -> ssl.SSLContext:
    """For a pinned certificate only: the pin, not a CA, is what is checked."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def presented_fingerprint(url: str, timeout_s: float = 5.0) -> str | None:
    """SHA-256 of the certificate an https server presents, fetched unverified, for messages
    that tell an operator what to pin; None when it cannot be fetched."""
    try:
        parts = urlsplit(url)
        pem = ssl.get_server_certificate(
            (parts.hostname or "", parts.port or 443), timeout=timeout_s
        )
        return fingerprint_of(ssl.PEM_cert_to_DER_cert(pem))
    except (OSError, ValueError):
        return None
