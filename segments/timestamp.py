"""RFC 3161 time-stamp tokens over checkpoints: the pure checks, bytes in, verdict out.

A checkpoint's own `time` is what the gateway's clock said, and the gateway signs it: a box
with a wrong or set-back clock, or someone holding its key, could claim any time. A token
from an independent time-stamping authority (TSA) binds the SHA-256 of the exact checkpoint
bytes (one line of `checkpoints.jsonl`, as uploaded) to the TSA's clock, signed by the TSA:
the ledger up to that checkpoint existed no later than the token's time.

A token is the TSA's whole DER `TimeStampResp`, kept as `checkpoints/<size:08d>.tsr` beside the
stream's checkpoints (and under the same name beside the uploaded checkpoint). It is public.

Checks (rfc3161-client does the CMS and X.509 work):

T1  Parse: a DER TimeStampResp with status granted (else REFUSED: hostile or broken bytes).
T2  Imprint: SHA-256, equal to the hash of this checkpoint's bytes (else REFUSED: a token for
    another checkpoint).
T3  Trust, given the caller's TSA trust anchors: the signer certificate chains to one, holds
    the critical extendedKeyUsage timeStamping, and signed the token (else REFUSED: an
    untrusted TSA). Without anchors the token is UNCHECKED: its time is shown, never trusted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from cryptography import x509
from rfc3161_client import (
    PKIStatus,
    TimeStampResponse,
    VerifierBuilder,
    decode_timestamp_response,
)

from .errors import SegmentError

TOKENS_DIR = "checkpoints"
TOKEN_SUFFIX = ".tsr"
SHA256_OID = x509.ObjectIdentifier("2.16.840.1.101.3.4.2.1")

TRUSTED, UNCHECKED, MISSING, REFUSED = "TRUSTED", "UNCHECKED", "MISSING", "REFUSED"
"""Per-checkpoint timestamp statuses: verified against the caller's TSA anchors; present but
not checked for origin (no anchors given); none found (the TSA may still be offline);
refused (broken, for another checkpoint, or from an untrusted TSA)."""

T = TypeVar("T")


class TimestampError(SegmentError):
    """A TSA reply or token that cannot be accepted; the message says why."""


@dataclass(frozen=True)
class Stamp:
    """What an accepted token states: when, by whom, under which policy."""

    time: str  # the TSA's genTime, ISO 8601 UTC
    tsa: str  # subject of the TSA's signing certificate (or the token's tsa name)
    serial: int
    policy: str


@dataclass(frozen=True)
class TimestampFinding:
    """The timestamp status of one checkpoint, as `evgw verify` reports it."""

    size: int  # the checkpoint's tree size (it names the checkpoint)
    status: str  # TRUSTED | UNCHECKED | MISSING | REFUSED
    time: str | None
    tsa: str | None
    detail: str


def token_name(size: int) -> str:
    """The token's file name, beside the checkpoint of tree size `size`."""
    return f"{size:08d}{TOKEN_SUFFIX}"


def token_relpath(size: int) -> str:
    """Where the token of checkpoint `size` lives inside the stream folder."""
    return f"{TOKENS_DIR}/{token_name(size)}"


def load_anchors(pem: bytes, what: str) -> tuple[x509.Certificate, ...]:
    """Every certificate in the PEM bundle `pem` (a TSA's CA chain); `what` names it."""
    try:
        anchors = tuple(x509.load_pem_x509_certificates(pem))
    except ValueError as e:
        raise TimestampError(
            f"{what} holds no readable PEM certificate ({e}); give the TSA's CA certificate "
            "chain in PEM form"
        ) from e
    return anchors


def accept_reply(
    reply: bytes,
    message: bytes,
    nonce: int,
    anchors: Sequence[x509.Certificate],
    policy: str | None = None,
) -> Stamp:
    """Check a TSA's fresh `reply` to a request over `message` with `nonce` (request time).

    Everything `check_token` checks, plus the nonce (a replayed or misrouted reply) and, when
    given, the policy. Raises TimestampError; returns what the token states.
    """
    response = _parse(reply)
    digest = _imprint_ok(response, message)
    oid = None if policy is None else x509.ObjectIdentifier(policy)
    verifier = VerifierBuilder(roots=list(anchors), nonce=nonce, policy_id=oid).build()
    _guarded(lambda: verifier.verify(response, digest), "the reply does not verify")
    return _stamp(response)


def check_token(
    token: bytes | None,
    checkpoint_line: bytes,
    size: int,
    anchors: Sequence[x509.Certificate] | None,
) -> TimestampFinding:
    """T1-T3 for the token found beside checkpoint `size` (None: no token was found)."""
    if token is None:
        return TimestampFinding(size, MISSING, None, None, "no timestamp token")
    try:
        response = _parse(token)  # T1
        digest = _imprint_ok(response, checkpoint_line)  # T2
        stamp = _stamp(response)
        if anchors is None:
            return TimestampFinding(
                size, UNCHECKED, stamp.time, stamp.tsa, "TSA not checked: no --tsa-ca given"
            )
        verifier = VerifierBuilder(roots=list(anchors)).build()  # T3
        _guarded(lambda: verifier.verify(response, digest), "not verified by the given TSA CA")
    except TimestampError as e:
        return TimestampFinding(size, REFUSED, None, None, str(e))
    return TimestampFinding(size, TRUSTED, stamp.time, stamp.tsa, f"policy {stamp.policy}")


def _parse(data: bytes) -> TimeStampResponse:
    response = _guarded(lambda: decode_timestamp_response(data), "not an RFC 3161 reply")
    status = _guarded(lambda: response.status, "not an RFC 3161 reply")
    if status != PKIStatus.GRANTED:  # rfc3161-client verifies nothing else either
        text = "; ".join(_guarded(lambda: response.status_string, "unreadable status"))
        raise TimestampError(f"the TSA did not grant a timestamp (status {status}: {text!r})")
    return response


def _imprint_ok(response: TimeStampResponse, message: bytes) -> bytes:
    """The SHA-256 of `message`, if the token's imprint is exactly that (T2)."""
    imprint = _guarded(lambda: response.tst_info.message_imprint, "unreadable token")
    digest = hashlib.sha256(message).digest()
    if imprint.hash_algorithm != SHA256_OID:
        oid = imprint.hash_algorithm.dotted_string
        raise TimestampError(f"the token hashes with {oid}, not SHA-256")
    if imprint.message != digest:
        raise TimestampError(
            "the token is for other bytes: its hash is "
            f"{imprint.message.hex()[:16]}…, this checkpoint's {digest.hex()[:16]}…"
        )
    return digest


def _stamp(response: TimeStampResponse) -> Stamp:
    def read() -> Stamp:
        info = response.tst_info
        return Stamp(
            time=info.gen_time.isoformat().replace("+00:00", "Z"),
            tsa=_signer_name(response) or str(getattr(info.name, "value", "")),
            serial=info.serial_number,
            policy=info.policy.dotted_string,
        )

    return _guarded(read, "unreadable token")


def _signer_name(response: TimeStampResponse) -> str | None:
    infos = list(response.signed_data.signer_infos)
    for der in response.signed_data.certificates:
        cert = x509.load_der_x509_certificate(der)
        if any(cert.issuer == i.issuer and cert.serial_number == i.serial_number for i in infos):
            return cert.subject.rfc4514_string()
    return None


def _guarded(read: Callable[[], T], what: str) -> T:
    """`read()`, any failure as TimestampError naming `what`.

    The parser is native code fed hostile bytes: besides ValueError it may raise anything,
    including pyo3's PanicException, which derives from BaseException. A token must never
    crash a verifier or the gateway's timestamp loop, so only interpreter exits pass through.
    """
    try:
        return read()
    except TimestampError:
        raise
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except BaseException as e:
        raise TimestampError(f"{what}: {type(e).__name__}: {e}"[:300]) from e
